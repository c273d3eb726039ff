/**
 * Every `ApplicationFailure.type` dst-synth throws, in one module with no imports: activities
 * throw with these constants and workflows list them in their retry policies, so the two
 * cannot drift apart (a misspelt type in a `nonRetryableErrorTypes` list silently retries a
 * failure that can never succeed). `tests/unit/failure-types.test.ts` fails on a bare
 * failure-type string anywhere else.
 */

/** Data, input and bookkeeping failures of the pipeline, import, generation and evaluation. */
export const FAILURE = {
  /** A real split the step needs is not in Postgres: import it first. */
  NO_REAL_DATA: 'NoRealData',
  /** The gold dialogues to score (or audit) against are not in Postgres. */
  NO_GOLD_DATA: 'NoGoldData',
  /** The generation run accepted no dialogue, so stage 1 has nothing to train on. */
  NO_GENERATED_DATA: 'NoGeneratedData',
  /** An input the caller must fix (a missing file, an unknown training set). */
  INVALID_INPUT: 'InvalidInput',
  /** A predictions file that cannot be read as `eval` predictions. */
  INVALID_PREDICTIONS: 'InvalidPredictions',
  /** A dataset file that is not MultiWOZ (or cannot be parsed). */
  INVALID_DATASET: 'InvalidDataset',
  /** An import source (URL, path) that cannot be reached. */
  SOURCE_UNAVAILABLE: 'SourceUnavailable',
  /** A generation activity for a run that has no row in `runs`. */
  NO_SUCH_RUN: 'NoSuchRun',
  /** A generation activity for a goal that was never planned. */
  NO_SUCH_GOAL: 'NoSuchGoal',
  /** The generation workflow stopped on a failed batch (the cause is its `cause`). */
  GENERATION_FAILED: 'GenerationFailed',
} as const;

/** Failures of the Python trainer process (`activities/train.ts`). */
export const TRAINER_FAILURE = {
  /** Exit code 2: bad flags or model; retrying runs the same config again. */
  CONFIG: 'TrainerConfig',
  /** Exit code 3: out of (GPU) memory; lower the batch size first. */
  OOM: 'TrainerOutOfMemory',
  /** Exit code 4: the checkpoint did not fit on the disk; free space first. */
  DISK_FULL: 'TrainerDiskFull',
  /** Any other exit or signal (a killed worker, a crash): retried, resuming from a checkpoint. */
  CRASH: 'TrainerCrashed',
  /** No progress for the heartbeat timeout: the trainer was stopped and is retried. */
  STALLED: 'TrainerStalled',
} as const;

/** The trainer failures a retry cannot fix: the gpu queue's non-retryable types. */
export const TRAINER_FATAL: readonly string[] = [
  TRAINER_FAILURE.CONFIG,
  TRAINER_FAILURE.OOM,
  TRAINER_FAILURE.DISK_FULL,
];

/** LLM failures as `llm/errors.ts` maps them (re-exported there as `LlmFailureType`). */
export const LLM_FAILURE = {
  RateLimited: 'LlmRateLimited',
  ServerError: 'LlmServerError',
  Timeout: 'LlmTimeout',
  Connection: 'LlmConnection',
  BadRequest: 'LlmBadRequest',
  ContextLength: 'LlmContextLength',
  Auth: 'LlmAuth',
  Forbidden: 'LlmForbidden',
  ModelNotFound: 'LlmModelNotFound',
  Quota: 'LlmQuota',
  InvalidOutput: 'LlmInvalidOutput',
  /** A JSON answer cut off by the completion-token limit: raise `maxTokens`, then retry. */
  OutputTruncated: 'LlmOutputTruncated',
  /** Bad or incomplete LLM configuration (missing key, no model): fix the config, then restart. */
  Config: 'LlmConfig',
  Unknown: 'LlmError',
} as const;

/** LLM failures a retry cannot fix (a bad key, model or prompt): non-retryable on the llm queue. */
export const LLM_FATAL: readonly string[] = [
  LLM_FAILURE.Auth,
  LLM_FAILURE.Forbidden,
  LLM_FAILURE.ModelNotFound,
  LLM_FAILURE.BadRequest,
  LLM_FAILURE.ContextLength,
  LLM_FAILURE.Quota,
  LLM_FAILURE.Config,
  LLM_FAILURE.OutputTruncated,
];

/** Any failure type of the tables above. */
export type FailureType =
  | (typeof FAILURE)[keyof typeof FAILURE]
  | (typeof TRAINER_FAILURE)[keyof typeof TRAINER_FAILURE]
  | (typeof LLM_FAILURE)[keyof typeof LLM_FAILURE];
