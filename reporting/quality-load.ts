/**
 * Inputs of `computeQuality`: the generated dialogues with their rejection and correction
 * counts, from Postgres (a generation or pipeline run) or from a folder in the layout
 * `simulate` and `export` write (`data.json` or `multiwoz22/`, `summary.json`,
 * `accepted.jsonl`, `rejected.jsonl`).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { generationRunOf } from '../db/generation-run';
import { dialogues, generationAttempts } from '../db/schema';
import { loadDataset } from '../multiwoz/loaders';
import { loadOntology } from '../multiwoz/ontology';
import { defaultTrainSource } from '../multiwoz/paths';
import type { Dialogue } from '../multiwoz/types';
import { computeQuality, type QualityReport } from './quality';

export interface GeneratedData {
  /** The generation run id, or the folder. */
  source: string;
  generated: Dialogue[];
  rejections: Record<string, number>;
  corrections: Record<string, number>;
}

const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

function jsonLines(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A `simulate --out` or `export --out` folder. */
export async function generatedFromFolder(dir: string): Promise<GeneratedData> {
  const generated = await loadDataset({ source: dir });
  const summaryFile = path.join(dir, 'summary.json');
  const summary = existsSync(summaryFile)
    ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as {
        reasons?: Record<string, number>;
        corrections?: Record<string, number>;
      })
    : {};
  const rejections: Record<string, number> = { ...summary.reasons };
  const corrections: Record<string, number> = { ...summary.corrections };
  // Folders without a summary: count from the attempt files.
  if (!summary.reasons)
    for (const r of jsonLines(path.join(dir, 'rejected.jsonl'))) bump(rejections, String(r.reason));
  if (!summary.corrections)
    for (const a of jsonLines(path.join(dir, 'accepted.jsonl')))
      for (const f of (a.failures as Array<{ reason: string }> | undefined) ?? [])
        bump(corrections, f.reason);
  return { source: dir, generated, rejections, corrections };
}

/** A generation run, or a pipeline run's generation step, from Postgres. */
export async function generatedFromDb(db: Db, runId: string): Promise<GeneratedData> {
  const gen = await generationRunOf(db, runId);
  const rows = await db
    .select({ content: dialogues.content })
    .from(dialogues)
    .where(and(eq(dialogues.runId, gen), eq(dialogues.source, 'generated')))
    .orderBy(asc(dialogues.dialogueId));
  const attempts = await db
    .select({
      accepted: generationAttempts.accepted,
      reason: generationAttempts.reason,
      failures: generationAttempts.failures,
    })
    .from(generationAttempts)
    .where(eq(generationAttempts.runId, gen));
  const rejections: Record<string, number> = {};
  const corrections: Record<string, number> = {};
  for (const a of attempts) {
    if (!a.accepted) bump(rejections, a.reason ?? 'unknown');
    else for (const f of a.failures) bump(corrections, f.reason);
  }
  return { source: gen, generated: rows.map((r) => r.content), rejections, corrections };
}

/** The real training dialogues compared against (default: the offline 2.1 train split). */
export function realTraining(source = defaultTrainSource()): Promise<Dialogue[]> {
  return loadDataset({ source, split: 'train' });
}

export async function qualityOf(data: GeneratedData, real: Dialogue[], samples = 3): Promise<QualityReport> {
  return computeQuality({
    generated: data.generated,
    real,
    ontology: loadOntology(),
    rejections: data.rejections,
    corrections: data.corrections,
    samples,
  });
}

/** The quality section of a report, or why it could not be computed. */
export interface ReportQuality {
  quality?: QualityReport;
  /** Why there is no section although the run made dialogues (shown in the report). */
  error?: string;
}

/**
 * The quality section of a run's report; none when the run made no dialogues. The real training
 * split comes from `real` (the worker passes its shared copy, so the 8,438 dialogues are read
 * once per worker, not per report). When it cannot be read, or the comparison fails, the report
 * says why instead of silently leaving the section out. Database errors propagate: the rest of
 * the report reads the same database, and the activity retries them.
 */
export async function reportQuality(
  db: Db,
  runId: string,
  real: () => Promise<Dialogue[]> = realTraining,
): Promise<ReportQuality> {
  const data = await generatedFromDb(db, runId);
  if (!data.generated.length) return {};
  try {
    return { quality: await qualityOf(data, await real()) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}
