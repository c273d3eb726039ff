import path from 'node:path';
import { z } from 'zod';

const ROOT = path.resolve(__dirname, '..');

/** Environment settings, validated once at start. Secrets stay here, never in workflow inputs. */
const EnvSchema = z.object({
  /** Temporal frontend `host:port`. Unset: `dev` starts an embedded dev server on 7233. */
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  /** Temporal namespace. Default `default`. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Postgres connection string. Unset: `dev` starts embedded PostgreSQL. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  /** Folder for embedded services' data and downloads. Default `<repo>/data`. */
  DST_SYNTH_DATA_DIR: z.string().min(1).default(path.join(ROOT, 'data')),
});

export type Settings = z.infer<typeof EnvSchema>;

/** Reads and validates the environment; a bad value gives a message naming the variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const r = EnvSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join('\n')}`);
  }
  return r.data;
}
