/**
 * Stores one scoring (a model's predictions on one split under one convention) in
 * `evaluations`: the one write behind the evaluate activity and the label audit.
 */
import { sql } from 'drizzle-orm';
import type { Db } from './client';
import { evaluations, type StoredScoreReport } from './schema';

/** What an evaluation row is keyed on (`evaluations_key`). */
export interface EvaluationKey {
  /** None for ad-hoc scoring: such rows never conflict, they accumulate. */
  runId?: string;
  model: string;
  dataset: string;
  split: string;
  convention: string;
}

/**
 * Upserts the row of `key` with the report's headline numbers and the whole report. A retried
 * activity (or a re-run of a pipeline) replaces its own scores, never duplicates them.
 */
export async function saveEvaluation(db: Db, key: EvaluationKey, report: StoredScoreReport): Promise<void> {
  const row = {
    ...key,
    jga: report.jga,
    slotAccuracy: report.slotAccuracy,
    slotF1: report.slotF1,
    turns: report.turns,
    report,
  };
  await db
    .insert(evaluations)
    .values(row)
    .onConflictDoUpdate({
      target: [
        evaluations.runId,
        evaluations.model,
        evaluations.dataset,
        evaluations.split,
        evaluations.convention,
      ],
      set: { ...row, createdAt: sql`now()` },
    });
}
