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
    distinctDialogues: await q(
      sql`select count(distinct dialogue_id) as n from dialogues where run_id = ${runId}`,
    ),
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
