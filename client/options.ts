import { z } from 'zod';

/** Validates CLI options; a failure names each bad option and why. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map(
    (i) => `  --${String(i.path[0] ?? '?').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}: ${i.message}`,
  );
  throw new Error(`invalid options:\n${lines.join('\n')}`);
}

/** Options of commands that start the embedded services (`dev`, `demo`). */
export const ServiceOptions = z.object({
  headless: z.boolean().default(false),
  port: z.coerce.number().int().min(1).max(65535).default(7233),
  uiPort: z.coerce.number().int().min(1).max(65535).default(8233),
  /** Worker and SDK logs on the console instead of `data/logs/<command>.log`. */
  verbose: z.boolean().default(false),
});

/** Options shared by the commands that generate dialogues (`simulate`, `generate`). */
export const GenerationCliOptions = z.object({
  seed: z.coerce.number().int().min(0).default(1),
  goalSource: z.enum(['real', 'database', 'mixed']).default('mixed'),
  train: z.string().optional(),
  provider: z.enum(['openai', 'local']).optional(),
  model: z.string().optional(),
  baseUrl: z.string().url().optional(),
  paraphrases: z.coerce.number().int().min(0).max(10).default(3),
});

/** `--provider`, else openai when OPENAI_API_KEY is set, else local. */
export function providerOf(provider: 'openai' | 'local' | undefined): 'openai' | 'local' {
  return provider ?? (process.env.OPENAI_API_KEY ? 'openai' : 'local');
}
