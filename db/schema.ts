import { sql } from 'drizzle-orm';
import {
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { PipelineConfig } from '../pipeline/config';
import type { GenerationConfig } from '../pipeline/generation-config';
import type { GenerationTotals } from '../pipeline/generation-totals';
import type { ImportProgress } from '../pipeline/import-progress';
import type { ScoreReport } from '../metrics/score';
import type { Dialogue } from '../multiwoz/types';
import type { Goal } from '../simulator/goal-types';
import type { RoleUsageTotals } from '../simulator/role-usage';
import type { Session } from '../simulator/session';
import type { CheckFailure, DialogueOutcome } from '../simulator/types';

/** Where a stored dialogue came from. */
export const DIALOGUE_SOURCE = { REAL: 'real', GENERATED: 'generated' } as const;
export type DialogueSource = (typeof DIALOGUE_SOURCE)[keyof typeof DIALOGUE_SOURCE];

/** Lifecycle of a run (import, generation or pipeline). */
export const RUN_STATUS = {
  RUNNING: 'running',
  /** Generation paused by a signal; resumable. */
  PAUSED: 'paused',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
} as const;
export type RunStatus = (typeof RUN_STATUS)[keyof typeof RUN_STATUS];

/** What an import run records as its config. */
export interface ImportRunConfig {
  dataset: string;
  source: string;
  split: string;
  datasetVersion: string;
}

/**
 * A run's stored config: a pipeline's, a generation's or an import's (`kind` says which).
 * Readers see each kind's fields as optional; writers store one whole config.
 */
export type RunConfig = Partial<PipelineConfig> & Partial<GenerationConfig> & Partial<ImportRunConfig>;

/** A run's summary: generation totals, import progress, or the pipeline's current step. */
export type RunSummary = Partial<GenerationTotals> & Partial<ImportProgress> & { step?: string };

/**
 * An evaluation's full report: a `ScoreReport` from `metrics/score.ts`, or another scorer's
 * (the label audit) with the same headline numbers; `perDomain` when the scorer has it.
 */
export type StoredScoreReport = Pick<ScoreReport, 'jga' | 'slotAccuracy' | 'slotF1' | 'turns'> & {
  perDomain?: ScoreReport['perDomain'];
  /** Absent in rows written before it was computed. */
  emptyStateJga?: number;
};

/** A trained (or failed) model's summary, as the training activity writes it. */
export interface ModelSummary {
  steps?: number;
  trainLoss?: number;
  curve?: Array<{ step: number; loss: number; lr?: number }>;
  hyper?: unknown;
  resumedFrom?: string;
  startStep?: number;
  error?: string;
}

/** One row per user-visible run; the id is the Temporal workflow id. */
export const runs = pgTable('runs', {
  id: text('id').primaryKey(),
  kind: text('kind').notNull(),
  status: text('status').$type<RunStatus>().notNull().default(RUN_STATUS.RUNNING),
  /** The run's validated configuration (never holds secrets). */
  config: jsonb('config')
    .$type<RunConfig>()
    .notNull()
    .default(sql`'{}'::jsonb`),
  /** Summary numbers written as the run progresses (counts, not data). */
  summary: jsonb('summary')
    .$type<RunSummary>()
    .notNull()
    .default(sql`'{}'::jsonb`),
  error: text('error'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Real and generated dialogues in the one in-memory model (`multiwoz/types.ts`).
 * Real dialogues are keyed by (dataset, version, split, dialogue id) so imports are idempotent.
 */
export const dialogues = pgTable(
  'dialogues',
  {
    id: serial('id').primaryKey(),
    source: text('source').$type<DialogueSource>().notNull(),
    dataset: text('dataset').notNull(),
    /** Content hash of the imported file (real) or the run id (generated). */
    datasetVersion: text('dataset_version').notNull(),
    split: text('split').notNull(),
    dialogueId: text('dialogue_id').notNull(),
    runId: text('run_id').references(() => runs.id),
    services: jsonb('services').$type<string[]>().notNull(),
    numUserTurns: integer('num_user_turns').notNull(),
    /** The whole dialogue (turns with utterances and per-turn states). */
    content: jsonb('content').$type<Dialogue>().notNull(),
    /** Cumulative state per user turn, the DST labels. */
    states: jsonb('states').$type<Record<string, string[]>[]>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('dialogues_natural_key').on(t.dataset, t.datasetVersion, t.split, t.dialogueId),
    index('dialogues_dataset_split').on(t.dataset, t.split),
    index('dialogues_run').on(t.runId),
  ],
);

/** One scoring of one prediction set under one convention. */
export const evaluations = pgTable(
  'evaluations',
  {
    id: serial('id').primaryKey(),
    runId: text('run_id').references(() => runs.id),
    model: text('model').notNull(),
    dataset: text('dataset').notNull(),
    split: text('split').notNull(),
    convention: text('convention').notNull(),
    jga: doublePrecision('jga').notNull(),
    slotAccuracy: doublePrecision('slot_accuracy').notNull(),
    slotF1: doublePrecision('slot_f1').notNull(),
    turns: integer('turns').notNull(),
    /** Full report: per-domain JGA, missing predictions, … */
    report: jsonb('report').$type<StoredScoreReport>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('evaluations_run').on(t.runId),
    // NULL run ids (ad-hoc scoring) never conflict: those rows simply accumulate.
    uniqueIndex('evaluations_key').on(t.runId, t.model, t.dataset, t.split, t.convention),
  ],
);

/** Where a goal of a generation run stands. */
export const GOAL_STATUS = { PENDING: 'pending', ACCEPTED: 'accepted', REJECTED: 'rejected' } as const;
export type GoalStatus = (typeof GOAL_STATUS)[keyof typeof GOAL_STATUS];

/** The goals of a generation run, planned up front; `status` says which are done. */
export const generationGoals = pgTable(
  'generation_goals',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id),
    goalIndex: integer('goal_index').notNull(),
    goal: jsonb('goal').$type<Goal>().notNull(),
    status: text('status').$type<GoalStatus>().notNull().default(GOAL_STATUS.PENDING),
    attempts: integer('attempts').notNull().default(0),
    /** Rejection reason of the last attempt, when rejected. */
    reason: text('reason'),
    /** The accepted dialogue's id in `dialogues`. */
    dialogueId: text('dialogue_id'),
    calls: integer('calls').notNull().default(0),
    promptTokens: integer('prompt_tokens').notNull().default(0),
    completionTokens: integer('completion_tokens').notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('generation_goals_key').on(t.runId, t.goalIndex),
    index('generation_goals_status').on(t.runId, t.status),
  ],
);

/** Every finished attempt at a goal, accepted or rejected, with its checks and usage. */
export const generationAttempts = pgTable(
  'generation_attempts',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id),
    goalIndex: integer('goal_index').notNull(),
    attempt: integer('attempt').notNull(),
    accepted: boolean('accepted').notNull(),
    reason: text('reason'),
    /** Failed checks (corrected ones included). */
    failures: jsonb('failures').$type<CheckFailure[]>().notNull(),
    /** The attempt's turns (kept for rejected ones too, to study why). */
    turns: jsonb('turns').$type<DialogueOutcome['turns']>().notNull(),
    calls: integer('calls').notNull(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    costUsd: doublePrecision('cost_usd').notNull(),
    /** Calls, prompt/evaluated/completion tokens and milliseconds per simulator role. */
    roleUsage: jsonb('role_usage').$type<RoleUsageTotals>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('generation_attempts_key').on(t.runId, t.goalIndex, t.attempt)],
);

/**
 * The dialogue being built for a goal, saved after every LLM call: a retried activity
 * resumes from here and repeats no completed call.
 */
export const generationSessions = pgTable(
  'generation_sessions',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id),
    goalIndex: integer('goal_index').notNull(),
    attempt: integer('attempt').notNull(),
    /** LLM steps taken in this attempt; a write with a lower count is stale and ignored. */
    steps: integer('steps').notNull(),
    session: jsonb('session').$type<Session>().notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('generation_sessions_key').on(t.runId, t.goalIndex)],
);

/** Training files a pipeline assembled, with sizes and hashes (the files live on the worker). */
export const datasets = pgTable(
  'datasets',
  {
    id: serial('id').primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id),
    /** `generated`, `real`, `replace-hotel`, `real-k1000`, `test`, … */
    name: text('name').notNull(),
    path: text('path').notNull(),
    dialogues: integer('dialogues').notNull(),
    examples: integer('examples').notNull(),
    bytes: integer('bytes').notNull(),
    sha256: text('sha256').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('datasets_key').on(t.runId, t.name)],
);

/** A model a pipeline trained: where it is, from what, and its training summary. */
export const models = pgTable(
  'models',
  {
    id: serial('id').primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id),
    /** `baseline`, `stage1`, `stage2`. */
    name: text('name').notNull(),
    path: text('path').notNull(),
    init: text('init').notNull(),
    status: text('status').notNull(),
    /** Final loss, steps, hyper-parameters, training curve points. */
    summary: jsonb('summary')
      .$type<ModelSummary>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('models_key').on(t.runId, t.name)],
);
