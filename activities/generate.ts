/**
 * Generation activities. `simulateDialogue` is the unit of work: one goal, up to its attempts,
 * with the session saved in Postgres after every LLM call so that a retry (crash, rate limit,
 * timeout) resumes mid-dialogue and repeats at most the call in flight. Every write is keyed by
 * (run, goal, attempt) and idempotent; an attempt is recorded once, by whichever activity
 * attempt finishes it first (a zombie that outlived its heartbeat timeout changes nothing).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { and, asc, eq, gte, lt, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { generationTotals } from '../db/run-totals';
import {
  DIALOGUE_SOURCE,
  GOAL_STATUS,
  RUN_STATUS,
  dialogues,
  generationAttempts,
  generationGoals,
  generationSessions,
  runs,
} from '../db/schema';
import { sampleGoals } from '../simulator/goals';
import type { Goal } from '../simulator/goal-types';
import { sessionOutcome, startSession, stepSession } from '../simulator/engine';
import { asDialogue, generatedId } from '../simulator/run-local';
import { STEP, type Session } from '../simulator/session';
import type { DialogueOutcome } from '../simulator/types';
import type { GenerationResources } from './generate-resources';
import { retryWhileDisconnected } from './pg-retry';
import { GenerationConfigSchema } from '../pipeline/generation-config';
import {
  GOAL_OUTCOME,
  type DialogueResult,
  type FinishRunInput,
  type GenerationConfig,
  type GenerationTotals,
  type GoalRangeInput,
  type PlanGoalsInput,
  type SimulateDialogueInput,
  type StartRunInput,
} from './generate-types';
import { FAILURE } from '../common/failure-types';

export interface GenerationActivityDeps {
  db: Db;
  resources: GenerationResources;
  /**
   * Where in-progress sessions are saved: ideally a pool opened with `asyncCommit` (a session
   * is progress, not a result: a *worker* crash loses nothing, only a Postgres crash could drop
   * the last fraction of a second of saves, costing repeated calls, never a wrong or duplicate
   * dialogue). Results always commit synchronously through `db`. Default `db`.
   */
  sessionDb?: Db;
}

/**
 * Heartbeat period: a fifth of the activity's heartbeat timeout, at most 2 s. The timer runs
 * during LLM calls too, so a slow call (a local model on CPU: 10-30 s) is not a dead worker.
 */
export function heartbeatEveryMs(heartbeatTimeoutMs: number | undefined): number {
  return Math.max(100, Math.min(2_000, (heartbeatTimeoutMs ?? 10_000) / 5));
}

export function createGenerationActivities(deps: GenerationActivityDeps) {
  const { db, resources } = deps;
  const sessionDb = deps.sessionDb ?? db;

  async function config(runId: string): Promise<GenerationConfig> {
    const [row] = await db.select({ config: runs.config }).from(runs).where(eq(runs.id, runId));
    if (!row) throw ApplicationFailure.nonRetryable(`no generation run ${runId}`, FAILURE.NO_SUCH_RUN);
    return GenerationConfigSchema.parse(row.config);
  }

  return {
    /** Creates the run row, or marks an existing run as running again (resume). */
    async startGenerationRun({ runId, config: c }: StartRunInput): Promise<void> {
      await db
        .insert(runs)
        .values({ id: runId, kind: 'generate', status: RUN_STATUS.RUNNING, config: c })
        .onConflictDoUpdate({
          target: runs.id,
          set: { status: RUN_STATUS.RUNNING, error: null, config: c, updatedAt: sql`now()` },
        });
    },

    /** Plans goals `from…to-1` once (deterministic per seed and index). */
    async planGoals({ runId, from, to }: PlanGoalsInput): Promise<number> {
      const [have] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(generationGoals)
        .where(
          and(
            eq(generationGoals.runId, runId),
            gte(generationGoals.goalIndex, from),
            lt(generationGoals.goalIndex, to),
          ),
        );
      if ((have?.n ?? 0) === to - from) return 0;
      const c = await config(runId);
      const train = c.goalSource === 'database' ? undefined : await resources.training(c.train);
      const goals = sampleGoals({
        from,
        count: to - from,
        seed: c.seed,
        source: c.goalSource,
        trainDialogues: train?.dialogues,
        deps: { db: resources.venues(), ontology: resources.ontology() },
      });
      for (let i = 0; i < goals.length; i += 500) {
        Context.current().heartbeat(i);
        const rows = goals.slice(i, i + 500).map((g) => ({ runId, goalIndex: g.index, goal: g.goal }));
        await db.insert(generationGoals).values(rows).onConflictDoNothing();
      }
      return goals.length;
    },

    /** Goal indexes of a range still to do. */
    async pendingGoals({ runId, from, to }: GoalRangeInput): Promise<number[]> {
      const rows = await db
        .select({ i: generationGoals.goalIndex })
        .from(generationGoals)
        .where(
          and(
            eq(generationGoals.runId, runId),
            eq(generationGoals.status, GOAL_STATUS.PENDING),
            gte(generationGoals.goalIndex, from),
            lt(generationGoals.goalIndex, to),
          ),
        )
        .orderBy(asc(generationGoals.goalIndex));
      return rows.map((r) => r.i);
    },

    /** Totals over finished goals, from the database (the truth after any crash). */
    async runTotals({ runId }: { runId: string }): Promise<GenerationTotals> {
      return generationTotals(db, runId);
    },

    async finishGenerationRun({ runId, status, totals, error }: FinishRunInput): Promise<void> {
      await db
        .update(runs)
        .set({ status, summary: totals, error: error ?? null, updatedAt: sql`now()` })
        .where(eq(runs.id, runId));
    },

    async simulateDialogue(input: SimulateDialogueInput): Promise<DialogueResult> {
      return simulateOne({ db, sessionDb }, resources, await config(input.runId), input);
    },
  };
}

function resultFromRow(row: typeof generationGoals.$inferSelect, resumedSteps = 0): DialogueResult {
  return {
    goalIndex: row.goalIndex,
    status: row.status === GOAL_STATUS.ACCEPTED ? GOAL_OUTCOME.ACCEPTED : GOAL_OUTCOME.REJECTED,
    attempts: row.attempts,
    reason: (row.reason ?? undefined) as DialogueResult['reason'],
    calls: row.calls,
    promptTokens: row.promptTokens,
    completionTokens: row.completionTokens,
    costUsd: row.costUsd,
    resumedSteps,
  };
}

async function loadGoal(db: Db, runId: string, goalIndex: number) {
  const [row] = await db
    .select()
    .from(generationGoals)
    .where(and(eq(generationGoals.runId, runId), eq(generationGoals.goalIndex, goalIndex)));
  if (!row)
    throw ApplicationFailure.nonRetryable(`run ${runId} has no goal ${goalIndex}`, FAILURE.NO_SUCH_GOAL);
  return row;
}

async function savedSession(db: Db, runId: string, goalIndex: number) {
  const [row] = await db
    .select()
    .from(generationSessions)
    .where(and(eq(generationSessions.runId, runId), eq(generationSessions.goalIndex, goalIndex)));
  return row;
}

/**
 * Saves a session unless a newer one (another attempt of this activity) already did, and only
 * while its attempt is the goal's next one: a zombie (an activity attempt that outlived its
 * heartbeat timeout, e.g. a worker frozen and resumed) must not re-create the session of an
 * attempt that its retry has since recorded (measured: a session row left on a finished goal).
 * `for share` waits for a concurrent `recordAttempt` and re-checks the goal row it committed.
 */
async function saveSession(db: Db, runId: string, s: Session, steps: number): Promise<void> {
  await db.execute(sql`
    insert into ${generationSessions} (run_id, goal_index, attempt, steps, session)
    select ${runId}, ${s.goalIndex}, ${s.attempt}, ${steps}, ${JSON.stringify(s)}::jsonb
      from ${generationGoals} g
     where g.run_id = ${runId} and g.goal_index = ${s.goalIndex}
       and g.status = ${GOAL_STATUS.PENDING} and g.attempts = ${s.attempt - 1}
       for share of g
    on conflict (run_id, goal_index) do update
       set attempt = excluded.attempt, steps = excluded.steps, session = excluded.session,
           updated_at = now()
     where (${generationSessions}.attempt, ${generationSessions}.steps) < (excluded.attempt, excluded.steps)`);
}

async function simulateOne(
  { db, sessionDb }: { db: Db; sessionDb: Db },
  resources: GenerationResources,
  c: GenerationConfig,
  { runId, goalIndex }: SimulateDialogueInput,
): Promise<DialogueResult> {
  const ctx = Context.current();
  let goalRow = await loadGoal(db, runId, goalIndex);
  if (goalRow.status !== GOAL_STATUS.PENDING) return resultFromRow(goalRow);
  let progress = { attempt: goalRow.attempts + 1, steps: 0 };
  const beat = () => ctx.heartbeat(progress);
  // From the start: a worker's first dialogue loads the training split and builds the retriever
  // (seconds, longer on a busy CPU), which must not outlast a short heartbeat timeout unseen.
  const timer = setInterval(beat, heartbeatEveryMs(ctx.info.heartbeatTimeoutMs));
  let resumedSteps: number | undefined;
  try {
    const train = await resources.training(c.train);
    const deps = {
      llm: resources.llm(c.llm, runId, { rpm: c.rpm, tpm: c.tpm }),
      db: resources.venues(),
      ontology: resources.ontology(),
      stats: train.stats,
      ...(c.labeller.examples > 0 ? { retriever: await resources.retriever(c.train) } : {}),
    };
    const opts = { paraphrases: c.paraphrases, maxAttempts: c.maxAttempts, labeller: c.labeller };
    for (;;) {
      const saved = await savedSession(db, runId, goalIndex);
      const resume = saved && saved.attempt > goalRow.attempts ? saved : undefined;
      resumedSteps ??= resume?.steps ?? 0;
      let steps = resume?.steps ?? 0;
      let session: Session = resume
        ? (resume.session as Session)
        : startSession(
            { goal: goalRow.goal as Goal, goalIndex, attempt: goalRow.attempts + 1, seed: c.seed },
            train.stats,
          );
      while (session.next !== STEP.DONE) {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('cancelled between LLM calls');
        session = await stepSession(session, deps, opts);
        steps++;
        // Saved after every call (on the async-commit pool: a few ms), so a retry repeats at
        // most the call in flight at a crash; a Postgres restart is waited out, not failed.
        const done = session;
        await retryWhileDisconnected(() => saveSession(sessionDb, runId, done, steps), {
          signal: ctx.cancellationSignal,
        });
        progress = { attempt: session.attempt, steps };
        beat();
      }
      const outcome = sessionOutcome(session);
      const last = outcome.accepted || session.attempt >= c.maxAttempts;
      await recordAttempt(db, runId, c, session, outcome, last);
      // From the database, not from this attempt: another activity attempt may have recorded it.
      goalRow = await loadGoal(db, runId, goalIndex);
      if (goalRow.status !== GOAL_STATUS.PENDING) return resultFromRow(goalRow, resumedSteps);
    }
  } finally {
    clearInterval(timer);
  }
}

/**
 * One transaction: the attempt, the dialogue if accepted, the goal's status and sums. Only
 * the first to record an attempt writes (false when another activity attempt was first), and
 * the goal row only moves forward (a zombie finishing an older attempt cannot set it back).
 */
export async function recordAttempt(
  db: Db,
  runId: string,
  c: GenerationConfig,
  s: Session,
  o: DialogueOutcome,
  last: boolean,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(generationAttempts)
      .values({
        runId,
        goalIndex: s.goalIndex,
        attempt: s.attempt,
        accepted: o.accepted,
        reason: o.reason ?? null,
        failures: o.failures,
        turns: o.turns,
        calls: o.usage.calls,
        promptTokens: o.usage.promptTokens,
        completionTokens: o.usage.completionTokens,
        costUsd: o.usage.costUsd,
        roleUsage: o.usage.byRole ?? null,
      })
      .onConflictDoNothing()
      .returning({ attempt: generationAttempts.attempt });
    if (!inserted.length) return false;
    const id = generatedId(c.seed, s.goalIndex);
    if (o.accepted) {
      const d = asDialogue(id, o);
      const states = d.turns.flatMap((t) => (t.state ? [t.state] : []));
      await tx
        .insert(dialogues)
        .values({
          source: DIALOGUE_SOURCE.GENERATED,
          dataset: 'generated',
          datasetVersion: runId,
          split: 'train',
          dialogueId: id,
          runId,
          services: d.services,
          numUserTurns: states.length,
          content: d,
          states,
        })
        .onConflictDoNothing();
    }
    const sums = tx
      .select({
        calls: sql<number>`coalesce(sum(${generationAttempts.calls}), 0)::int`,
        prompt: sql<number>`coalesce(sum(${generationAttempts.promptTokens}), 0)::int`,
        completion: sql<number>`coalesce(sum(${generationAttempts.completionTokens}), 0)::int`,
        cost: sql<number>`coalesce(sum(${generationAttempts.costUsd}), 0)::float8`,
      })
      .from(generationAttempts)
      .where(and(eq(generationAttempts.runId, runId), eq(generationAttempts.goalIndex, s.goalIndex)));
    const [u] = await sums;
    const status = !last ? GOAL_STATUS.PENDING : o.accepted ? GOAL_STATUS.ACCEPTED : GOAL_STATUS.REJECTED;
    await tx
      .update(generationGoals)
      .set({
        status,
        attempts: s.attempt,
        reason: o.accepted ? null : (o.reason ?? null),
        dialogueId: o.accepted ? id : null,
        calls: u?.calls ?? 0,
        promptTokens: u?.prompt ?? 0,
        completionTokens: u?.completion ?? 0,
        costUsd: Number(u?.cost ?? 0),
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(generationGoals.runId, runId),
          eq(generationGoals.goalIndex, s.goalIndex),
          lt(generationGoals.attempts, s.attempt),
        ),
      );
    await tx
      .delete(generationSessions)
      .where(
        and(
          eq(generationSessions.runId, runId),
          eq(generationSessions.goalIndex, s.goalIndex),
          lte(generationSessions.attempt, s.attempt),
        ),
      );
    return true;
  });
}
