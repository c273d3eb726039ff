import { existsSync } from 'node:fs';
import path from 'node:path';

/** Repository root (this file lives in `<root>/multiwoz`). */
export const REPO_ROOT = path.resolve(__dirname, '..');

/**
 * Folder holding the offline MultiWOZ files (db/, 2.1/, 2.2/, 2.4/, mapping.pair).
 * `MULTIWOZ_DIR` wins; otherwise the shared folder next to the repository.
 */
export function multiwozDir(): string {
  const candidates = [
    process.env.MULTIWOZ_DIR,
    path.resolve(REPO_ROOT, '../shared/data/multiwoz'),
    '/work/shared/data/multiwoz',
  ].filter((p): p is string => !!p);
  for (const dir of candidates) if (existsSync(path.join(dir, 'db'))) return dir;
  throw new Error(
    `MultiWOZ data folder not found (tried ${candidates.join(', ')}); set MULTIWOZ_DIR to a folder holding db/ and the splits`,
  );
}

/** The real training dialogues generation and the data-quality section read by default (2.1 train). */
export const defaultTrainSource = () => path.join(multiwozDir(), '2.1/train-dev-test.star-tsv.zip');
