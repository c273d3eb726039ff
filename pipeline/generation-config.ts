/** The configuration of a generation run, validated with zod (not for workflow code). */
import { z } from 'zod';
import { LlmConfigSchema } from '../llm/config';
import { DEFAULT_LABELLER, LabellerOptionsSchema } from '../simulator/prompts';

/** The validated configuration of a generation run (stored in `runs.config`; no secrets). */
export const GenerationConfigSchema = z
  .object({
    /** Number of goals (dialogues to attempt). */
    goals: z.number().int().positive().max(100_000),
    /** Seed of goals, plans and choices. Default 1. */
    seed: z.number().int().min(0).default(1),
    /** Where goals come from. Default `mixed` (80% real training goals). */
    goalSource: z.enum(['real', 'database', 'mixed']).default('mixed'),
    /** Real training dialogues on the worker (goals, reveal rates). Default: the offline 2.1 train split. */
    train: z.string().optional(),
    /** LLM used by every role. The API key is never here: workers read OPENAI_API_KEY. */
    llm: z.custom<z.input<typeof LlmConfigSchema>>((v) => LlmConfigSchema.safeParse(v).success, {
      message: 'invalid LLM config',
    }),
    /**
     * How the state labeller is asked (`LabellerOptions`: worked examples retrieved from the
     * training split `train`, update or whole-state answers, how `dontcare` is offered), as
     * `audit-labels --examples/--answer/--dontcare`. Default `DEFAULT_LABELLER`.
     */
    labeller: LabellerOptionsSchema.default(DEFAULT_LABELLER),
    /** Paraphrases per user utterance (0: off). Default 3. */
    paraphrases: z.number().int().min(0).max(10).default(3),
    /** Attempts per goal. Default 3. */
    maxAttempts: z.number().int().min(1).max(10).default(3),
    /** Goals per child workflow. Default 50. */
    batchSize: z.number().int().min(1).max(1000).default(50),
    /**
     * Child workflows the parent starts before it continues as new, which bounds every
     * history (about 10 events per child). Default 40.
     */
    childrenPerExecution: z.number().int().min(1).max(500).default(40),
    /** Dialogues in flight across the run. Default 8. */
    concurrency: z.number().int().min(1).max(1000).default(8),
    /**
     * Seconds without a heartbeat before a dialogue activity counts as lost (its worker died)
     * and is retried elsewhere, resuming from its saved session. A dead worker's dialogues hold
     * their slots this long, so it is what a worker crash costs the run. The activity
     * heartbeats every 2 s, during LLM calls too (a slow call is not a dead worker), and the
     * worker sends one every 3 s at most. Default 10.
     */
    heartbeatTimeoutSeconds: z.number().int().min(2).max(3600).default(10),
    /** LLM budget per worker process: requests and tokens per minute. Default: none. */
    rpm: z.number().positive().optional(),
    tpm: z.number().positive().optional(),
  })
  .strict();
export type GenerationConfig = z.output<typeof GenerationConfigSchema>;
export type GenerationConfigInput = z.input<typeof GenerationConfigSchema>;
