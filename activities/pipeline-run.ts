/** Pipeline bookkeeping: its row in `runs` (status, config, current step). */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { runs, type RunStatus } from '../db/schema';
import { withHeartbeat } from './heartbeat';

export interface RecordPipelineInput {
  runId: string;
  config: object;
  status: RunStatus;
  step: string;
  error?: string;
}

export function createPipelineRunActivities(deps: { db: Db }) {
  return {
    // One upsert, but it can wait minutes on a lock or a restarting Postgres: heartbeat meanwhile.
    recordPipeline: (input: RecordPipelineInput): Promise<void> =>
      withHeartbeat(() => recordPipeline(deps.db, input)),
  };
}

async function recordPipeline(db: Db, input: RecordPipelineInput): Promise<void> {
  const row = { id: input.runId, kind: 'pipeline', status: input.status, config: input.config };
  await db
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
}
