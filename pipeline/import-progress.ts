/**
 * An import run's progress: what its workflow's `progress` query answers and what `runs.summary`
 * stores (`db/schema.ts`). Types and constants only: workflows import this file.
 */

export const IMPORT_PHASE = {
  PLANNING: 'planning',
  IMPORTING: 'importing',
  DONE: 'done',
} as const;
export type ImportPhase = (typeof IMPORT_PHASE)[keyof typeof IMPORT_PHASE];

/** What the `progress` query returns. */
export interface ImportProgress {
  phase: ImportPhase;
  total: number;
  done: number;
  inserted: number;
  skipped: number;
  datasetVersion?: string;
}
