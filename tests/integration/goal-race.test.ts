/**
 * Two activity attempts of one goal racing to record (a zombie that outlived its heartbeat
 * timeout and the retry that took over), on a real Postgres: the goal row only moves forward
 * and always agrees with the attempt rows and the dialogue.
 */
import { and, eq } from 'drizzle-orm';
import { recordAttempt } from '../../activities/generate';
import type { GenerationConfig } from '../../pipeline/generation-config';
import { dialogues, generationAttempts, generationGoals, runs } from '../../db/schema';
import type { Goal } from '../../simulator/goal-types';
import type { Session } from '../../simulator/session';
import type { DialogueOutcome } from '../../simulator/types';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';

let db: TestDatabase;
const RUN = 'race';
const c = { seed: 1 } as GenerationConfig;

beforeAll(async () => {
  db = await startTestDatabase();
  await db.handle.db.insert(runs).values({ id: RUN, kind: 'generate', status: 'running', config: {} });
}, 120_000);
afterAll(async () => db?.stop());

const session = (goalIndex: number, attempt: number) => ({ goalIndex, attempt }) as Session;
function outcome(accepted: boolean, calls: number): DialogueOutcome {
  return {
    accepted,
    reason: accepted ? undefined : 'too_short',
    failures: [],
    services: ['hotel'],
    turns: [
      { speaker: 'USER', utterance: 'a hotel in the north', state: { 'hotel-area': ['north'] } },
      {
        speaker: 'SYSTEM',
        utterance: 'Acorn guest house?',
        action: 'recommend',
        entity: 'acorn guest house',
      },
    ],
    usage: { calls, promptTokens: 10 * calls, completionTokens: calls, costUsd: 0 },
  } as DialogueOutcome;
}

async function addGoal(goalIndex: number): Promise<void> {
  await db.handle.db
    .insert(generationGoals)
    .values({ runId: RUN, goalIndex, goal: { domains: [] } as unknown as Goal });
}
async function goal(goalIndex: number) {
  const [g] = await db.handle.db
    .select()
    .from(generationGoals)
    .where(and(eq(generationGoals.runId, RUN), eq(generationGoals.goalIndex, goalIndex)));
  const attempts = await db.handle.db
    .select()
    .from(generationAttempts)
    .where(and(eq(generationAttempts.runId, RUN), eq(generationAttempts.goalIndex, goalIndex)));
  const d = await db.handle.db
    .select()
    .from(dialogues)
    .where(eq(dialogues.dialogueId, g!.dialogueId ?? '-'));
  return { g: g!, attempts, dialogues: d.length };
}

test('a zombie recording an attempt after the retry recorded it and the next one changes nothing', async () => {
  await addGoal(0);
  const h = db.handle.db;
  // The retry (which took over attempt 1 from the zombie's saved session) records 1, then 2.
  expect(await recordAttempt(h, RUN, c, session(0, 1), outcome(false, 20), false)).toBe(true);
  expect(await recordAttempt(h, RUN, c, session(0, 2), outcome(true, 30), true)).toBe(true);
  // The zombie finishes attempt 1 (rejected, so it would go on), then attempt 2 (rejected).
  expect(await recordAttempt(h, RUN, c, session(0, 1), outcome(false, 21), false)).toBe(false);
  expect(await recordAttempt(h, RUN, c, session(0, 2), outcome(false, 31), true)).toBe(false);
  const { g, attempts, dialogues: n } = await goal(0);
  expect(g).toMatchObject({ status: 'accepted', attempts: 2, reason: null, calls: 50 });
  expect(attempts.map((a) => [a.attempt, a.accepted, a.calls])).toEqual([
    [1, false, 20],
    [2, true, 30],
  ]);
  expect(n).toBe(1);
});

test('an older attempt recorded late (its row new) does not set the goal back', async () => {
  await addGoal(1);
  const h = db.handle.db;
  expect(await recordAttempt(h, RUN, c, session(1, 2), outcome(true, 30), true)).toBe(true);
  // Never the case in a run (attempt 2 starts after 1 is recorded), but the guard holds anyway.
  await recordAttempt(h, RUN, c, session(1, 1), outcome(false, 20), false);
  expect((await goal(1)).g).toMatchObject({ status: 'accepted', attempts: 2 });
});

test('two activity attempts racing on the same attempt: one wins, the goal agrees with it', async () => {
  const h = db.handle.db;
  for (let i = 10; i < 30; i++) {
    await addGoal(i);
    const [a, b] = await Promise.all([
      recordAttempt(h, RUN, c, session(i, 1), outcome(true, 30), true),
      recordAttempt(h, RUN, c, session(i, 1), outcome(false, 31), true),
    ]);
    expect(a !== b).toBe(true);
    const { g, attempts, dialogues: n } = await goal(i);
    expect(attempts).toHaveLength(1);
    const won = attempts[0]!;
    expect(g).toMatchObject({
      status: won.accepted ? 'accepted' : 'rejected',
      attempts: 1,
      calls: won.calls,
    });
    expect(n).toBe(won.accepted ? 1 : 0);
    expect(won.accepted).toBe(a);
  }
});
