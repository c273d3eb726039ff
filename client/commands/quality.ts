import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { openDb } from '../../db/client';
import { resolveDatabaseUrl } from '../../infra/discovery';
import { loadSettings } from '../../infra/settings';
import { qualityText } from '../../reporting/quality-format';
import {
  generatedFromDb,
  generatedFromFolder,
  qualityOf,
  realTraining,
  type GeneratedData,
} from '../../reporting/quality-load';
import { parseOptions } from '../options';

const QualityOptions = z.object({
  /** Real training dialogues compared against. Default: the offline 2.1 train split. */
  real: z.string().optional(),
  /** Sample dialogues shown. Default 3. */
  samples: z.coerce.number().int().min(0).max(50).default(3),
  json: z.boolean().default(false),
});

/**
 * `dst-synth quality <run|dir>`: counts, coverage, language and label figures of generated
 * dialogues beside the real training split (`reporting/quality.ts`), with sample transcripts.
 * A folder (the layout `simulate --out` and `export` write) is read from disk; anything else is
 * a generation or pipeline run id in Postgres.
 */
export function registerQuality(program: Command): void {
  program
    .command('quality <source>')
    .description(
      'Data quality of a generation run (id) or an exported folder, compared with the real training split',
    )
    .option('--real <path>', 'real training dialogues (default: the offline MultiWOZ 2.1 train split)')
    .option('--samples <n>', 'sample dialogues to print', '3')
    .option('--json', 'print one JSON object')
    .action(async (source: string, raw: Record<string, unknown>) => {
      const opts = parseOptions(QualityOptions, raw);
      const data = await generated(source);
      if (!data.generated.length) throw new Error(`${data.source}: no generated dialogues`);
      const report = await qualityOf(data, await realTraining(opts.real), opts.samples);
      console.log(opts.json ? JSON.stringify({ source: data.source, ...report }) : qualityText(report));
    });
}

async function generated(source: string): Promise<GeneratedData> {
  if (existsSync(source) && statSync(source).isDirectory()) return generatedFromFolder(path.resolve(source));
  const db = openDb(resolveDatabaseUrl(loadSettings()));
  try {
    return await generatedFromDb(db.db, source);
  } finally {
    await db.close();
  }
}
