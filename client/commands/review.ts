import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { openDb } from '../../db/client';
import { resolveDatabaseUrl } from '../../infra/discovery';
import { loadSettings } from '../../infra/settings';
import {
  parseVerdicts,
  reviewMarkdown,
  scoreVerdicts,
  verdictScoreText,
  verdictTemplate,
  REVIEW_DEFAULTS,
  type ReviewSet,
  type VerdictFile,
} from '../../reporting/review';
import { reviewHtml } from '../../reporting/review-html';
import { reviewFromDb, reviewFromFolder, type ReviewSampling } from '../../reporting/review-load';
import { parseOptions } from '../options';

const ReviewOptions = z.object({
  /** Dialogues sampled into the review set. Default 20. */
  sample: z.coerce.number().int().min(1).max(1000).default(REVIEW_DEFAULTS.sample),
  /** Seed of the sampling: the same seed (and source) gives the same dialogues. Default 1. */
  seed: z.coerce.number().int().min(0).default(REVIEW_DEFAULTS.seed),
  /** Folder for review.html, review.md and verdicts.json. Default: `<dir>/review`, or `data/runs/<run>/review`. */
  out: z.string().min(1).optional(),
  /** A filled verdict file to score (instead of writing a review set). */
  verdicts: z.string().min(1).optional(),
  /** Print one JSON object. */
  json: z.boolean().default(false),
});
type Opts = z.infer<typeof ReviewOptions>;

/**
 * `dst-synth review <run|dir>`: a seeded sample of accepted dialogues as a page a person judges
 * (`review.html`, `review.md`) and the verdict file to fill (`verdicts.json`);
 * `review --verdicts <file>` scores a filled one. A path on disk is read as a folder (or
 * MultiWOZ file); anything else is a generation or pipeline run id in Postgres.
 */
export function registerReview(program: Command): void {
  program
    .command('review [source]')
    .description(
      'A review set of sampled accepted dialogues (HTML + Markdown + verdicts.json) from a run (id) or an exported folder; --verdicts scores a filled one',
    )
    .option('--sample <n>', 'dialogues in the review set', String(REVIEW_DEFAULTS.sample))
    .option('--seed <s>', 'seed of the sampling (same seed, same dialogues)', String(REVIEW_DEFAULTS.seed))
    .option(
      '--out <dir>',
      'folder for the page and verdicts.json (default: <dir>/review or data/runs/<run>/review)',
    )
    .option(
      '--verdicts <file>',
      'score a filled verdict file: label accuracy, acceptance, role swaps (no source needed)',
    )
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nverdicts.json: per user turn "label": "right" | "wrong" | null; per dialogue "role_swaps": a count or null,\n' +
        '"accept": true | false | null, "note". Fill it by hand, by script, or with the page\'s form ("Download verdicts.json").',
    )
    .action(async (source: string | undefined, raw: Record<string, unknown>) => {
      const opts = parseOptions(ReviewOptions, raw);
      if (opts.verdicts) return scoreFile(opts.verdicts, source, opts.json);
      if (!source)
        throw new Error('review: give a folder or run id to sample, or --verdicts <file> to score');
      await writeReview(source, opts);
    });
}

const onDisk = (source: string) => existsSync(source);

async function loadSet(source: string, sampling: ReviewSampling): Promise<ReviewSet> {
  if (onDisk(source)) return reviewFromFolder(source, sampling);
  const db = openDb(resolveDatabaseUrl(loadSettings()));
  try {
    return await reviewFromDb(db.db, source, sampling);
  } finally {
    await db.close();
  }
}

function defaultOut(source: string): string {
  if (!onDisk(source)) return path.join(loadSettings().DST_SYNTH_DATA_DIR, 'runs', source, 'review');
  const abs = path.resolve(source);
  return path.join(statSync(abs).isDirectory() ? abs : path.dirname(abs), 'review');
}

const judged = (v: VerdictFile) =>
  v.dialogues.some(
    (d) =>
      d.accept !== null ||
      d.role_swaps !== null ||
      d.note !== '' ||
      d.turns.some((t) => t.label !== null || (t.note ?? '') !== ''),
  );

/** True when `file` holds someone's work: judgements, or edits that no longer parse. */
function holdsJudgements(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    return judged(parseVerdicts(readFileSync(file, 'utf8'), file));
  } catch {
    return true;
  }
}

async function writeReview(source: string, opts: Opts): Promise<void> {
  const set = await loadSet(source, { sample: opts.sample, seed: opts.seed });
  if (!set.dialogues.length) throw new Error(`${set.source}: no accepted dialogues to review`);
  const out = path.resolve(opts.out ?? defaultOut(source));
  mkdirSync(out, { recursive: true });
  const files = {
    html: path.join(out, 'review.html'),
    markdown: path.join(out, 'review.md'),
    verdicts: path.join(out, 'verdicts.json'),
  };
  writeFileSync(files.html, reviewHtml(set));
  writeFileSync(files.markdown, reviewMarkdown(set));
  // A filled verdict file is someone's reading time: never overwrite it with an empty template.
  const kept = holdsJudgements(files.verdicts);
  if (!kept) writeFileSync(files.verdicts, `${JSON.stringify(verdictTemplate(set), null, 2)}\n`);
  const turns = set.dialogues.reduce((n, d) => n + d.turns.filter((t) => t.speaker === 'USER').length, 0);
  if (opts.json) {
    console.log(
      JSON.stringify({
        source: set.source,
        seed: set.seed,
        total: set.total,
        dialogues: set.dialogues.length,
        userTurns: turns,
        files,
        verdictsKept: kept,
      }),
    );
    return;
  }
  console.log(
    [
      `review set: ${set.dialogues.length} of ${set.total} accepted dialogues (seed ${set.seed}, ${turns} user turns) from ${set.source}`,
      `  ${files.html}  (open in a browser; "Download verdicts.json" saves the form)`,
      `  ${files.markdown}`,
      `  ${files.verdicts}  ${kept ? '(kept: it already holds judgements; delete it for a fresh template)' : '(template to fill)'}`,
      `score a filled file: npx dst-synth review --verdicts ${files.verdicts}`,
    ].join('\n'),
  );
}

function scoreFile(file: string, source: string | undefined, json: boolean): void {
  if (!existsSync(file)) throw new Error(`${file}: no such verdict file`);
  const verdicts = parseVerdicts(readFileSync(file, 'utf8'), file);
  if (source !== undefined) {
    const given = onDisk(source) ? path.resolve(source) : source;
    if (given !== verdicts.source)
      console.error(`note: ${file} reviews ${verdicts.source}, not ${given}; scoring the file as it is`);
  }
  const score = scoreVerdicts(verdicts);
  console.log(json ? JSON.stringify({ file, ...score }) : verdictScoreText(score, file));
}
