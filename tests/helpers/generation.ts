import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import type { LlmServer } from './llm-server';

export const ok200 = (server: LlmServer) =>
  server.requests.filter((r) => r.path === '/v1/chat/completions' && r.status === 200).length;

/** Per-run facts straight from Postgres, to check exactly-once outcomes. */
export async function runFacts(db: Db, runId: string) {
  const q = async (query: ReturnType<typeof sql>) =>
    Number((await db.execute<{ n: string }>(query)).rows[0]!.n);
  return {
    goals: await q(sql`select count(*) as n from generation_goals where run_id = ${runId}`),
    done: await q(
      sql`select count(*) as n from generation_goals where run_id = ${runId} and status <> 'pending'`,
    ),
    accepted: await q(
      sql`select count(*) as n from generation_goals where run_id = ${runId} and status = 'accepted'`,
    ),
    dialogues: await q(sql`select count(*) as n from dialogues where run_id = ${runId}`),
    recordedCalls: await q(
      sql`select coalesce(sum(calls), 0) as n from generation_goals where run_id = ${runId}`,
    ),
    sessionsLeft: await q(sql`select count(*) as n from generation_sessions where run_id = ${runId}`),
    status: (
      await db.execute<{ status: string; error: string | null }>(
        sql`select status, error from runs where id = ${runId}`,
      )
    ).rows[0],
  };
}

/** One goal as the loopback server saw it: answered calls and the attempt numbers they served. */
export interface ServerGoal {
  calls: number;
  attempts: Set<number>;
}

/**
 * Answered chat calls per goal (the pre-flight call aside), from the server's log: the client sends each call's
 * conversation (`<goal>/<attempt>/<role>`, `x-dst-conversation`). Only for a server reset
 * before the run.
 */
export function answeredPerGoal(server: LlmServer): Map<number, ServerGoal> {
  const out = new Map<number, ServerGoal>();
  for (const r of server.requests) {
    // `generate` checks the endpoint with one call before it starts the run.
    if (r.path !== '/v1/chat/completions' || r.status !== 200 || r.role === 'preflight') continue;
    const [goal, attempt] = (r.conversation ?? '').split('/').map(Number);
    if (goal === undefined || attempt === undefined || Number.isNaN(goal) || Number.isNaN(attempt))
      throw new Error(`an answered call without a conversation header: ${r.conversation}`);
    const g = out.get(goal) ?? { calls: 0, attempts: new Set<number>() };
    g.calls++;
    g.attempts.add(attempt);
    out.set(goal, g);
  }
  return out;
}

/** One goal as Postgres has it: status, attempts, the calls summed over them, dialogues stored. */
export async function goalsInDb(db: Db, runId: string) {
  const r = await db.execute<{
    goal: number;
    status: string;
    attempts: number;
    calls: number;
    dialogues: string;
  }>(
    sql`select g.goal_index as goal, g.status, g.attempts, g.calls,
               (select count(*) from dialogues d where d.run_id = g.run_id
                  and d.dialogue_id = coalesce(g.dialogue_id, '')) as dialogues
          from generation_goals g where g.run_id = ${runId} order by g.goal_index`,
  );
  return new Map(r.rows.map((x) => [x.goal, { ...x, dialogues: Number(x.dialogues) }]));
}

/**
 * Per goal, the server's log against Postgres: the server served exactly the attempts recorded,
 * every recorded call was answered, and at most `maxRepeated` answered calls per goal are not
 * in the goal's sums (calls in flight when a worker died). Returns the repeated calls per goal.
 */
export async function compareGoals(
  db: Db,
  runId: string,
  server: LlmServer,
  maxRepeated: number,
): Promise<Map<number, number>> {
  const seen = answeredPerGoal(server);
  const rows = await goalsInDb(db, runId);
  const repeated = new Map<number, number>();
  const problems: string[] = [];
  for (const [goal, row] of rows) {
    const s = seen.get(goal) ?? { calls: 0, attempts: new Set<number>() };
    const attempts = [...s.attempts].sort((a, b) => a - b);
    const want = Array.from({ length: row.attempts }, (_, i) => i + 1);
    if (attempts.join() !== want.join())
      problems.push(`goal ${goal}: server served attempts [${attempts}], db has ${row.attempts}`);
    if (row.dialogues !== (row.status === 'accepted' ? 1 : 0))
      problems.push(`goal ${goal}: ${row.status} with ${row.dialogues} dialogues`);
    const extra = s.calls - row.calls;
    if (extra < 0 || extra > maxRepeated)
      problems.push(`goal ${goal}: server answered ${s.calls} calls, db recorded ${row.calls}`);
    if (extra > 0) repeated.set(goal, extra);
  }
  for (const goal of seen.keys())
    if (!rows.has(goal)) problems.push(`goal ${goal}: answered calls, no goal row`);
  if (problems.length) throw new Error(problems.join('\n'));
  return repeated;
}
