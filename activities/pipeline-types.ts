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
  /** Real training data per dataset version, with its k-real subsets and domain replacements. */
  versions: Array<{
    /** File-name prefix (`''` for the config's `data` version, else `<dataset>.`). */
    prefix: string;
    real: { dataset: RealDataset; split: Split };
    kReal: number[];
    replaceDomains: TrackedDomain[];
  }>;
  /** Test files to write: name (`test`, `multiwoz24.test`) and source. */
  tests: Array<{ name: string; source: { dataset: RealDataset; split: Split } }>;
  /** Folder (on the data worker, shared with the gpu worker) for the files. */
  outDir: string;
  /** At most this many real training dialogues per version (seeded sample); default all. */
  realLimit?: number;
  /** At most this many test dialogues per test file (seeded sample); default all. */
  testLimit?: number;
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
  /** `stage1`, `baseline[.<set>]`, `stage2[.<set>]` (see `training/matrix.ts`). */
  name: string;
  trainFile: string;
  outDir: string;
  /** Hub name, local path, or an earlier stage's output folder; absent with `tiny`. */
  init?: string;
  /** Build a tiny model and tokenizer from the data (CPU demos and tests). */
  tiny?: boolean;
  /** Trainer flags (`--lr`, `--epochs`, …) as name → value. */
  hyper: Record<string, string | number | boolean>;
  /** Devices this training needs (leased on the gpu worker; > 1: torchrun). Default 1. */
  devices?: number;
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
