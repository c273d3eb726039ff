/**
 * The pipeline's one typed config file (`dst-synth run --config <file>`), validated with zod.
 * Not for workflow code (workflows get the parsed, plain object).
 */
import { z } from 'zod';
import { TRAIN_SET } from './experiments';
import { LabellerOptionsSchema } from '../simulator/prompts';
import { GenerationConfigSchema } from './generation-config';

const RealDataset = z.enum(['multiwoz21', 'multiwoz22', 'multiwoz24']);
const Split = z.enum(['train', 'dev', 'test']);
const Domain = z.enum(['restaurant', 'hotel', 'attraction', 'train', 'taxi']);
const DataRef = z.object({ dataset: RealDataset, split: Split }).strict();

/** One experiment of the matrix: a training set, and whether stage 1 comes first. */
const ExperimentSchema = z
  .object({
    /** `real` (all real, after `data.realLimit`), `real-k<k>`, or `replace-<domain>`. */
    train: z.string().regex(TRAIN_SET, 'use real, real-k<k> or replace-<domain>'),
    /** Stage 1 on the generated dialogues first; `both`: two experiments, without and with. */
    stage1: z.union([z.boolean(), z.literal('both')]),
    /** Dataset version of the real training and test data (splits from `data`). Default: `data`'s. */
    dataset: RealDataset.optional(),
    /** Real training data, overriding `dataset` and `data.real`. */
    real: DataRef.optional(),
    /** Test data, overriding `dataset` and `data.test`. */
    test: DataRef.optional(),
  })
  .strict();

const Hyper = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));

export const PipelineConfigSchema = z
  .object({
    /** Shown in the UI and the report. */
    name: z.string().min(1).default('pipeline'),
    seed: z.number().int().min(0).default(1),
    /** Splits imported first (idempotent). `source` may start with `multiwoz:` for the offline folder. */
    import: z
      .array(z.object({ dataset: RealDataset, source: z.string().min(1), split: Split }).strict())
      .default([]),
    /** The generation run (its `seed` defaults to the pipeline's). */
    generation: GenerationConfigSchema,
    data: z
      .object({
        real: z.object({ dataset: RealDataset, split: Split }).strict(),
        test: z.object({ dataset: RealDataset, split: Split }).strict(),
        /** Real training dialogues used (seeded sample). Default: all. */
        realLimit: z.number().int().positive().optional(),
        /** Test dialogues scored (seeded sample). Default: all. */
        testLimit: z.number().int().positive().optional(),
        /** Without `experiments`: also train k-real subsets (with and without stage 1). Prefer `experiments`. */
        kReal: z.array(z.number().int().positive()).default([]),
        /** Without `experiments`: also train this domain replacement. Prefer `experiments`. */
        replaceDomain: Domain.optional(),
      })
      .strict(),
    /**
     * The experiment matrix (`training/matrix.ts`): each entry one training set and whether it
     * has a stage 1 on the generated dialogues; identical trainings run once, and every
     * two-stage model shares the one stage-1 model. Default: `real` with and without stage 1
     * on `data` (plus the legacy `data.kReal`/`data.replaceDomain`).
     */
    experiments: z.array(ExperimentSchema).optional(),
    training: z
      .object({
        /** Hub name or local path of the base model; absent with `tiny`. */
        init: z.string().optional(),
        /** Build a tiny model and tokenizer from the data (CPU demo). */
        tiny: z.boolean().default(false),
        /** Trainer flags for every training stage (e.g. `{"lr": 2e-5, "epochs": 1}`). */
        hyper: Hyper.default({}),
        /** Trainer flags for prediction (e.g. `{"batch-size": 16, "num-beams": 1}`). */
        predict: Hyper.default({}),
        /** Devices (GPUs) per training; more than 1 launches the trainer under torchrun. Default 1. */
        devices: z.number().int().min(1).max(64).default(1),
        /** Seconds without trainer progress before the step is retried elsewhere. Default 300. */
        heartbeatTimeoutSeconds: z.number().int().min(5).default(300),
      })
      .strict()
      .refine((t) => t.tiny || t.init, { message: 'set training.init (a model) or training.tiny: true' }),
    conventions: z
      .array(z.enum(['trade', 'sgd', 'luas']))
      .min(1)
      .default(['trade', 'sgd', 'luas']),
    /**
     * Optional label audit (`audit-labels` as a step on the llm queue): the generation LLM's
     * labeller scored on real annotated dialogues, so the report states its label accuracy.
     * Absent: no audit.
     */
    audit: z
      .object({
        /** Real dialogues to label (imported first). Default: `data.test`. */
        dataset: RealDataset.optional(),
        split: Split.optional(),
        /** The first `limit` dialogues by id. Default 20. */
        limit: z.number().int().positive().default(20),
        /** Slots shown to the labeller: the dialogue's domains (as generation) or all 30. Default `dialogue`. */
        slots: z.enum(['dialogue', 'all']).default('dialogue'),
        /** How the labeller is asked. Default: `generation.labeller` (the labeller the data was made with). */
        labeller: LabellerOptionsSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type PipelineConfig = z.output<typeof PipelineConfigSchema>;
