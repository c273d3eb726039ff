import type { Dataset, Split } from '../multiwoz/types';
import type { ImportProgress } from '../pipeline/import-progress';

export { IMPORT_PHASE, type ImportPhase, type ImportProgress } from '../pipeline/import-progress';

/** Input of the import workflow and its activities: only names and paths, never data. */
export interface ImportInput {
  dataset: Exclude<Dataset, 'generated'>;
  /** A local file or folder, or an http(s) URL of an official release. */
  source: string;
  split: Split;
  /** Dialogues per activity. Default 200. */
  batchSize?: number;
}

export interface PlanImportInput {
  runId: string;
  input: ImportInput;
}

export interface ImportPlan {
  total: number;
  /** Content hash of the source, part of every row's natural key. */
  datasetVersion: string;
  /** Local path the batches read (a URL source is downloaded once). */
  localSource: string;
}

export interface ImportBatchInput {
  runId: string;
  dataset: ImportInput['dataset'];
  split: Split;
  localSource: string;
  datasetVersion: string;
  offset: number;
  limit: number;
}

export interface ImportBatchResult {
  inserted: number;
  skipped: number;
}

export interface FinishImportInput {
  runId: string;
  summary: ImportProgress;
}
