/**
 * The generator in one process, without Temporal (`dst-synth simulate`): goals in parallel
 * up to a concurrency, transient LLM failures retried after the server's delay.
 */
import type { Dialogue } from '../multiwoz/types';
import { runSessionWithRetry, type RetryPolicy } from './retry';
import { sessionOutcome, startSession, type SimulatorDeps, type SimulatorOptions } from './engine';
import type { Goal } from './goal-types';
import type { DialogueOutcome, Reason, UsageTotals } from './types';
import { emptyUsage, type Session } from './session';
import { sumRoleUsage } from './role-usage';

export interface GoalRun {
  index: number;
  goal: Goal;
  accepted?: Dialogue;
  attempts: DialogueOutcome[];
}

export interface LocalRunSummary {
  goals: number;
  accepted: number;
  rejected: number;
  /** Rejected attempts by reason (a goal can have up to 3). */
  reasons: Partial<Record<Reason, number>>;
  /** Failed checks that were corrected, by reason, over accepted dialogues. */
  corrections: Partial<Record<Reason, number>>;
  usage: UsageTotals;
  seconds: number;
}

export interface LocalRunOptions extends SimulatorOptions {
  seed: number;
  /** Goals simulated at once. Default 1. */
  concurrency?: number;
  retry?: RetryPolicy;
  onGoal?: (run: GoalRun, done: number) => void;
  /** Sees the session after every LLM call (e.g. to print turns as they are made). */
  onStep?: (s: Session) => void;
}

/** Generated dialogue ids: stable per seed and goal index. */
export function generatedId(seed: number, index: number): string {
  return `SYN${seed}-${String(index).padStart(6, '0')}`;
}

/** The dialogue in the shared model (system acts and entities stay in the outcome). */
export function asDialogue(id: string, o: DialogueOutcome): Dialogue {
  return {
    id,
    services: o.services,
    turns: o.turns.map((t) =>
      t.state
        ? { speaker: t.speaker, utterance: t.utterance, state: t.state }
        : { speaker: t.speaker, utterance: t.utterance },
    ),
  };
}

async function runGoal(
  index: number,
  goal: Goal,
  deps: SimulatorDeps,
  opts: LocalRunOptions,
): Promise<GoalRun> {
  const attempts: DialogueOutcome[] = [];
  for (let attempt = 1; attempt <= (opts.maxAttempts ?? 3); attempt++) {
    const session = startSession({ goal, goalIndex: index, attempt, seed: opts.seed }, deps.stats);
    const outcome = sessionOutcome(await runSessionWithRetry(session, deps, opts, opts.retry, opts.onStep));
    attempts.push(outcome);
    if (outcome.accepted)
      return { index, goal, attempts, accepted: asDialogue(generatedId(opts.seed, index), outcome) };
  }
  return { index, goal, attempts };
}

/** Simulates every goal; results in goal order. */
export async function simulateLocally(
  goals: ReadonlyArray<{ index: number; goal: Goal }>,
  deps: SimulatorDeps,
  opts: LocalRunOptions,
): Promise<{ runs: GoalRun[]; summary: LocalRunSummary }> {
  const t0 = performance.now();
  const runs: GoalRun[] = new Array<GoalRun>(goals.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < goals.length) {
      const i = next++;
      const g = goals[i]!;
      runs[i] = await runGoal(g.index, g.goal, deps, opts);
      opts.onGoal?.(runs[i], ++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, worker));
  return { runs, summary: summarise(runs, (performance.now() - t0) / 1000) };
}

export function summarise(runs: readonly GoalRun[], seconds: number): LocalRunSummary {
  const usage = emptyUsage();
  const reasons: LocalRunSummary['reasons'] = {};
  const corrections: LocalRunSummary['corrections'] = {};
  for (const r of runs) {
    for (const a of r.attempts) {
      usage.calls += a.usage.calls;
      usage.promptTokens += a.usage.promptTokens;
      usage.completionTokens += a.usage.completionTokens;
      usage.costUsd += a.usage.costUsd;
      usage.byRole = sumRoleUsage([usage.byRole, a.usage.byRole]);
      if (!a.accepted && a.reason) reasons[a.reason] = (reasons[a.reason] ?? 0) + 1;
      if (a.accepted) for (const f of a.failures) corrections[f.reason] = (corrections[f.reason] ?? 0) + 1;
    }
  }
  const accepted = runs.filter((r) => r.accepted).length;
  return {
    goals: runs.length,
    accepted,
    rejected: runs.length - accepted,
    reasons,
    corrections,
    usage,
    seconds,
  };
}
