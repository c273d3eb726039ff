import { sql } from 'drizzle-orm';
import {
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

/** Where a stored dialogue came from. */
export const DIALOGUE_SOURCE = { REAL: 'real', GENERATED: 'generated' } as const;
export type DialogueSource = (typeof DIALOGUE_SOURCE)[keyof typeof DIALOGUE_SOURCE];

/** Lifecycle of a run (import, generation or pipeline). */
export const RUN_STATUS = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
} as const;
export type RunStatus = (typeof RUN_STATUS)[keyof typeof RUN_STATUS];

/** One row per user-visible run; the id is the Temporal workflow id. */
export const runs = pgTable('runs', {
  id: text('id').primaryKey(),
  kind: text('kind').notNull(),
  status: text('status').$type<RunStatus>().notNull().default(RUN_STATUS.RUNNING),
  /** The run's validated configuration (never holds secrets). */
  config: jsonb('config')
    .notNull()
    .default(sql`'{}'::jsonb`),
  /** Summary numbers written as the run progresses (counts, not data). */
  summary: jsonb('summary')
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
    content: jsonb('content').notNull(),
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
    report: jsonb('report').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('evaluations_run').on(t.runId)],
);
