import {
  defineQuery,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createImportActivities } from '../activities/import';
import { IMPORT_PHASE, type ImportInput, type ImportProgress } from '../activities/import-types';
import { FAILURE } from '../common/failure-types';
import { SA } from './search-attributes';
import { TASK_QUEUE } from './task-queues';

const { planImport, importBatch, finishImport } = proxyActivities<ReturnType<typeof createImportActivities>>({
  taskQueue: TASK_QUEUE.DATA,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FAILURE.INVALID_DATASET, FAILURE.SOURCE_UNAVAILABLE],
  },
});

export const importProgressQuery = defineQuery<ImportProgress>('progress');

const DEFAULT_BATCH = 200;

/** Loads one split of a MultiWOZ release into Postgres, in batches, idempotently. */
export async function importDatasetWorkflow(input: ImportInput): Promise<ImportProgress> {
  const runId = workflowInfo().workflowId;
  const progress: ImportProgress = {
    phase: IMPORT_PHASE.PLANNING,
    total: 0,
    done: 0,
    inserted: 0,
    skipped: 0,
  };
  setHandler(importProgressQuery, () => progress);
  upsertSearchAttributes([
    { key: SA.RUN_KIND, value: 'import' },
    { key: SA.RUN_STATUS, value: 'running' },
  ]);

  const plan = await planImport({ runId, input });
  progress.phase = IMPORT_PHASE.IMPORTING;
  progress.total = plan.total;
  progress.datasetVersion = plan.datasetVersion;
  upsertMemo({ dataset: input.dataset, split: input.split, datasetVersion: plan.datasetVersion });

  const batch = input.batchSize ?? DEFAULT_BATCH;
  for (let offset = 0; offset < plan.total; offset += batch) {
    const r = await importBatch({
      runId,
      dataset: input.dataset,
      split: input.split,
      localSource: plan.localSource,
      datasetVersion: plan.datasetVersion,
      offset,
      limit: batch,
    });
    progress.done = Math.min(plan.total, offset + batch);
    progress.inserted += r.inserted;
    progress.skipped += r.skipped;
    upsertSearchAttributes([
      { key: SA.DONE, value: progress.done },
      { key: SA.TOTAL, value: plan.total },
    ]);
  }
  progress.phase = IMPORT_PHASE.DONE;
  await finishImport({ runId, summary: progress });
  upsertSearchAttributes([{ key: SA.RUN_STATUS, value: 'completed' }]);
  return progress;
}
