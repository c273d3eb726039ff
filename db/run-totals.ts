/**
 * A generation run's totals summed over its finished goals: the one query behind the
 * workflow's restart totals (`runTotals` activity) and the report, so both count alike.
 */
import { and, eq, sql } from 'drizzle-orm';
import { emptyTotals, type GenerationTotals } from '../pipeline/generation-totals';
import type { Db } from './client';
import { GOAL_STATUS, generationGoals } from './schema';

export async function generationTotals(db: Db, runId: string): Promise<GenerationTotals> {
  const rows = await db
    .select({
      status: generationGoals.status,
      reason: generationGoals.reason,
      n: sql<number>`count(*)::int`,
      calls: sql<number>`coalesce(sum(${generationGoals.calls}), 0)::int`,
      prompt: sql<number>`coalesce(sum(${generationGoals.promptTokens}), 0)::bigint`,
      completion: sql<number>`coalesce(sum(${generationGoals.completionTokens}), 0)::bigint`,
      cost: sql<number>`coalesce(sum(${generationGoals.costUsd}), 0)::float8`,
    })
    .from(generationGoals)
    .where(and(eq(generationGoals.runId, runId), sql`${generationGoals.status} <> ${GOAL_STATUS.PENDING}`))
    .groupBy(generationGoals.status, generationGoals.reason);
  const t = emptyTotals();
  for (const r of rows) {
    t.done += r.n;
    if (r.status === GOAL_STATUS.ACCEPTED) t.accepted += r.n;
    else {
      t.rejected += r.n;
      const reason = (r.reason ?? 'unknown') as keyof GenerationTotals['reasons'];
      t.reasons[reason] = (t.reasons[reason] ?? 0) + r.n;
    }
    // bigint sums arrive as strings.
    t.calls += Number(r.calls);
    t.promptTokens += Number(r.prompt);
    t.completionTokens += Number(r.completion);
    t.costUsd += Number(r.cost);
  }
  return t;
}
