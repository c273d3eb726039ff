import path from 'node:path';
import { createHash } from 'node:crypto';
import { heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { DIALOGUE_SOURCE, RUN_STATUS, dialogues, runs } from '../db/schema';
import { downloadFile } from '../multiwoz/download';
import { loadDataset } from '../multiwoz/loaders';
import type { Dialogue } from '../multiwoz/types';
import type {
  FinishImportInput,
  ImportBatchInput,
  ImportBatchResult,
  ImportPlan,
  PlanImportInput,
} from './import-types';
import { contentVersion, isUrl } from './source';
import { FAILURE } from '../common/failure-types';

export interface ImportActivityDeps {
  db: Db;
  /** Folder where URL sources are downloaded (kept, so a retry resumes). */
  downloadDir: string;
}

/**
 * Activities of the import workflow; a worker keeps one parsed copy of each source version
 * (the content hash): a file fixed or replaced at the same path must be parsed again, not
 * served from the copy of its earlier content under the new version.
 */
export function createImportActivities(deps: ImportActivityDeps) {
  const parsed = new Map<string, Promise<Dialogue[]>>();
  const keyOf = (dataset: string, source: string, split: string) => `${dataset}\0${source}\0${split}\0`;

  function load(
    dataset: ImportBatchInput['dataset'],
    source: string,
    split: ImportBatchInput['split'],
    version: string,
  ) {
    const prefix = keyOf(dataset, source, split);
    const key = prefix + version;
    let p = parsed.get(key);
    if (!p) {
      // Earlier versions of this source are stale for good.
      for (const k of parsed.keys()) if (k.startsWith(prefix)) parsed.delete(k);
      p = loadDataset({ dataset, source, split });
      parsed.set(key, p);
      p.catch(() => parsed.delete(key));
    }
    return p.catch((e: unknown) => {
      throw ApplicationFailure.nonRetryable(errorMessage(e), FAILURE.INVALID_DATASET);
    });
  }

  /** A batch on a worker without the parse: the file must still be the planned version. */
  async function checkUnchanged(input: ImportBatchInput): Promise<void> {
    if (parsed.has(keyOf(input.dataset, input.localSource, input.split) + input.datasetVersion)) return;
    const now = await contentVersion(input.localSource).catch(() => 'unreadable');
    if (now !== input.datasetVersion)
      throw ApplicationFailure.nonRetryable(
        `${input.localSource} changed during the import (version ${input.datasetVersion}, now ${now}): import it again`,
        FAILURE.INVALID_DATASET,
      );
  }

  return {
    async planImport({ runId, input }: PlanImportInput): Promise<ImportPlan> {
      const localSource = isUrl(input.source)
        ? await fetchSource(input.source, deps.downloadDir)
        : input.source;
      const datasetVersion = await contentVersion(localSource).catch((e: unknown) => {
        throw ApplicationFailure.nonRetryable(errorMessage(e), FAILURE.INVALID_DATASET);
      });
      const total = (await load(input.dataset, localSource, input.split, datasetVersion)).length;
      const config = { dataset: input.dataset, source: input.source, split: input.split, datasetVersion };
      await deps.db
        .insert(runs)
        .values({ id: runId, kind: 'import', config })
        .onConflictDoUpdate({ target: runs.id, set: { status: RUN_STATUS.RUNNING, updatedAt: sql`now()` } });
      log.info('import planned', { total, datasetVersion });
      return { total, datasetVersion, localSource };
    },

    async importBatch(input: ImportBatchInput): Promise<ImportBatchResult> {
      await checkUnchanged(input);
      const all = await load(input.dataset, input.localSource, input.split, input.datasetVersion);
      const slice = all.slice(input.offset, input.offset + input.limit);
      heartbeat({ offset: input.offset });
      if (slice.length === 0) return { inserted: 0, skipped: 0 };
      const rows = slice.map((d) => toRow(d, input));
      const inserted = await deps.db
        .insert(dialogues)
        .values(rows)
        .onConflictDoNothing({
          target: [dialogues.dataset, dialogues.datasetVersion, dialogues.split, dialogues.dialogueId],
        })
        .returning({ id: dialogues.id });
      return { inserted: inserted.length, skipped: slice.length - inserted.length };
    },

    async finishImport({ runId, summary }: FinishImportInput): Promise<void> {
      await deps.db
        .update(runs)
        .set({ status: RUN_STATUS.COMPLETED, summary, updatedAt: sql`now()` })
        .where(eq(runs.id, runId));
    },
  };
}

function toRow(d: Dialogue, input: ImportBatchInput): typeof dialogues.$inferInsert {
  const states = d.turns.filter((t) => t.speaker === 'USER').map((t) => t.state ?? {});
  return {
    source: DIALOGUE_SOURCE.REAL,
    dataset: input.dataset,
    datasetVersion: input.datasetVersion,
    split: input.split,
    dialogueId: d.id,
    runId: input.runId,
    services: d.services,
    numUserTurns: states.length,
    content: d,
    states,
  };
}

async function fetchSource(url: string, downloadDir: string): Promise<string> {
  const name = path.basename(new URL(url).pathname) || 'download';
  const dest = path.join(downloadDir, createHash('sha256').update(url).digest('hex').slice(0, 12), name);
  try {
    await downloadFile({ url, dest, onProgress: ({ done }) => heartbeat({ downloaded: done }) });
  } catch (e) {
    throw ApplicationFailure.nonRetryable(errorMessage(e), FAILURE.SOURCE_UNAVAILABLE);
  }
  return dest;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
