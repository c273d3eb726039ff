/** Pipeline bookkeeping: its row in `runs` (status, config, current step). */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { runs, type RunStatus } from '../db/schema';

export function createPipelineRunActivities(deps: { db: Db }) {
  return {
    async recordPipeline(input: {
      runId: string;
      config: object;
      status: RunStatus;
      step: string;
      error?: string;
    }): Promise<void> {
      const row = { id: input.runId, kind: 'pipeline', status: input.status, config: input.config };
      await deps.db
        .insert(runs)
        .values({ ...row, summary: { step: input.step } })
        .onConflictDoUpdate({
          target: runs.id,
          set: {
            status: input.status,
            summary: sql`${runs.summary} || ${JSON.stringify({ step: input.step })}::jsonb`,
            error: input.error ?? null,
            updatedAt: sql`now()`,
          },
        });
    },
  };
}
