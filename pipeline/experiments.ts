/**
 * The experiment vocabulary shared by the config schema, the matrix planner
 * (`training/matrix.ts`), the pipeline workflow and the report: dataset references, the three
 * experiment kinds, training-set names, and the plan's types. Types and constants only (no
 * zod): workflows import this file.
 */
export type RealDataset = 'multiwoz21' | 'multiwoz22' | 'multiwoz24';
export type DataSplit = 'train' | 'dev' | 'test';
export type Domain = 'restaurant' | 'hotel' | 'attraction' | 'train' | 'taxi';
export interface DataRef {
  dataset: RealDataset;
  split: DataSplit;
}

/** The three tables of the paper. */
export const EXPERIMENT_KIND = {
  /** All real dialogues, with and without stage 1 on generated ones (per dataset version). */
  ALL_REAL: 'all-real',
  /** k real dialogues, with and without stage 1. */
  K_REAL: 'k-real',
  /** One domain's real dialogues replaced by generated ones, against all real. */
  DOMAIN_REPLACEMENT: 'domain-replacement',
} as const;
export type ExperimentKind = (typeof EXPERIMENT_KIND)[keyof typeof EXPERIMENT_KIND];

/** A training set as an experiment names it (`real`, `real-k1000`, `replace-hotel`). */
export type TrainSetName = string;
export const TRAIN_SET = /^(real|real-k([1-9]\d*)|replace-(restaurant|hotel|attraction|train|taxi))$/;

/** One experiment of the config (see `PipelineConfigSchema.experiments`). */
export interface ExperimentSpec {
  train: TrainSetName;
  stage1: boolean | 'both';
  dataset?: RealDataset;
  real?: DataRef;
  test?: DataRef;
}

export interface PlannedSet {
  /** File name (without `.jsonl`) and key in `datasets`. */
  name: string;
  role: 'generated' | 'real' | 'k-real' | 'replace' | 'test';
  /** The real data it is drawn from (absent for `generated`). */
  source?: DataRef;
  k?: number;
  domain?: Domain;
  /** Size known before any data is read: from the config's limits and the official splits. */
  dialogues: number;
  /** `exact` when the number is certain, `at most` when data may have fewer. */
  bound: 'exact' | 'at most';
}

export interface PlannedTraining {
  model: string;
  trainSet: string;
  /** `stage1` for a stage 2; absent: the configured base model. */
  from?: 'stage1';
}

export interface PlannedArm {
  kind: ExperimentKind;
  /** The dataset version's label: `<real dataset>` or `<real> → <test>` when they differ. */
  version: string;
  trainSet: string;
  /** `real`, `real-k<k>` or `replace-<domain>` (without the version prefix). */
  train: TrainSetName;
  stage1: boolean;
  model: string;
  testSet: string;
  test: DataRef;
  /** Added by the planner as the comparison an experiment needs (the all-real model). */
  reference: boolean;
  k?: number;
  domain?: Domain;
}

export interface PlannedEvaluation {
  model: string;
  testSet: string;
  test: DataRef;
  /** Key in the pipeline result's `scores` (the model name when evaluated on `test`). */
  key: string;
}

/** What `assembleDataset` builds per real dataset version. */
export interface PlannedVersion {
  prefix: string;
  real: DataRef;
  kReal: number[];
  replaceDomains: Domain[];
}

export interface MatrixPlan {
  sets: PlannedSet[];
  versions: PlannedVersion[];
  tests: Array<{ name: string; source: DataRef }>;
  arms: PlannedArm[];
  /** In scheduling order: stage 1 first (every stage 2 waits for it), then the others. */
  trainings: PlannedTraining[];
  evaluations: PlannedEvaluation[];
}

/** Official dialogue counts per split (MultiWOZ 2.1/2.2/2.4), used for sizes before import. */
export const OFFICIAL_SPLIT_DIALOGUES: Record<DataSplit, number> = { train: 8438, dev: 1000, test: 1000 };
