/**
 * Inputs and outputs of the pipeline's data, training and reporting activities. Types only:
 * workflows import this file.
 */
import type { Split, TrackedDomain } from '../multiwoz/types';

export type RealDataset = 'multiwoz21' | 'multiwoz22' | 'multiwoz24';

export interface AssembleInput {
  /** The pipeline run. */
  runId: string;
  /** The generation run whose accepted dialogues make stage 1. */
  generationRunId: string;
  real: { dataset: RealDataset; split: Split };
  test: { dataset: RealDataset; split: Split };
  /** Folder (on the data worker, shared with the gpu worker) for the files. */
  outDir: string;
  /** At most this many real training dialogues (seeded sample); default all. */
  realLimit?: number;
  /** At most this many test dialogues (seeded sample); default all. */
  testLimit?: number;
  /** Extra "k real dialogues" subsets. */
  kReal?: number[];
  /** Build the variant with this domain's real dialogues replaced by generated ones. */
  replaceDomain?: TrackedDomain;
  seed: number;
}

export interface AssembledFile {
  name: string;
  path: string;
  dialogues: number;
  examples: number;
  sha256: string;
}

export interface FineTuneInput {
  runId: string;
  /** `baseline`, `stage1`, `stage2`. */
  name: string;
  trainFile: string;
  outDir: string;
  /** Hub name, local path, or an earlier stage's output folder; absent with `tiny`. */
  init?: string;
  /** Build a tiny model and tokenizer from the data (CPU demos and tests). */
  tiny?: boolean;
  /** Trainer flags (`--lr`, `--epochs`, …) as name → value. */
  hyper: Record<string, string | number | boolean>;
}

export interface FineTuneResult {
  name: string;
  path: string;
  steps: number;
  trainLoss?: number;
  resumedFrom?: string;
}

export interface PredictInput {
  runId: string;
  model: string;
  modelDir: string;
  inputFile: string;
  outFile: string;
  hyper: Record<string, string | number | boolean>;
}
