import type { Dataset, Split } from '../multiwoz/types';

export const CONVENTIONS = ['trade', 'sgd', 'luas'] as const;
export type ConventionName = (typeof CONVENTIONS)[number];

/** Built-in reference predictors, for sanity checks and demos. */
export const REFERENCE_PREDICTOR = {
  /** The gold states themselves: JGA must be 1.0. */
  ORACLE: 'oracle',
  /** Empty states: JGA = share of turns whose gold state is empty. */
  EMPTY: 'empty',
} as const;

export interface EvaluateInput {
  /** Run the evaluation belongs to (a row in `runs`), when any. */
  runId?: string;
  /** Name stored with the scores: a model name or a reference predictor. */
  model: string;
  dataset: Exclude<Dataset, 'generated'>;
  split: Split;
  conventions: ConventionName[];
  /** A JSON-lines prediction file readable by the worker; absent with a reference predictor. */
  predictionsPath?: string;
  /**
   * Score only the gold dialogues that have at least one prediction (a pipeline evaluating on
   * a sample of the test split). Default false: every gold turn counts, missing ones as empty.
   */
  onlyPredictedDialogues?: boolean;
}

export interface EvaluationSummary {
  convention: ConventionName;
  jga: number;
  slotAccuracy: number;
  slotF1: number;
  turns: number;
  missingPredictions: number;
}
