/**
 * The pipeline's one typed config file (`dst-synth run --config <file>`), validated with zod.
 * Not for workflow code (workflows get the parsed, plain object).
 */
import { z } from 'zod';
import { GenerationConfigSchema } from './generate-config';

const RealDataset = z.enum(['multiwoz21', 'multiwoz22', 'multiwoz24']);
const Split = z.enum(['train', 'dev', 'test']);
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
        kReal: z.array(z.number().int().positive()).default([]),
        replaceDomain: z.enum(['restaurant', 'hotel', 'attraction', 'train', 'taxi']).optional(),
      })
      .strict(),
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
        /** Seconds without trainer progress before the step is retried elsewhere. Default 300. */
        heartbeatTimeoutSeconds: z.number().int().min(5).default(300),
      })
      .strict()
      .refine((t) => t.tiny || t.init, { message: 'set training.init (a model) or training.tiny: true' }),
    conventions: z
      .array(z.enum(['trade', 'sgd', 'luas']))
      .min(1)
      .default(['trade', 'sgd', 'luas']),
  })
  .strict();

export type PipelineConfig = z.output<typeof PipelineConfigSchema>;
