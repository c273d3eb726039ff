import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

/** Folder of recorded histories replayed by `tests/unit/replay.test.ts`. */
export const HISTORY_DIR = path.join(__dirname, '../histories');

/**
 * With RECORD_HISTORIES=1, saves a finished workflow's history for the replay test. Commit
 * the file: a later workflow change that breaks replay then fails CI.
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const history = await handle.fetchHistory();
  mkdirSync(HISTORY_DIR, { recursive: true });
  // The protojson form is what `Worker.runReplayHistory` reads back.
  writeFileSync(path.join(HISTORY_DIR, `${name}.json`), historyToJSON(history));
}
