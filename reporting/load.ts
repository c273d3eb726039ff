/** Reads everything a report shows from Postgres. */
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { generationTotals } from '../db/run-totals';
import { datasets, dialogues, evaluations, models, runs } from '../db/schema';
import { planMatrix } from '../training/matrix';
import type { Dialogue } from '../multiwoz/types';
import { reportQuality } from './quality-load';
import type { ReportData } from './report';

/** Options of `loadReportData`. */
export interface ReportLoadOptions {
  /**
   * The real training split the quality section compares against. Default: read the offline
   * 2.1 train split (uncached: the CLI writes one report per process; workers pass a shared one).
   */
  realTraining?: () => Promise<Dialogue[]>;
}

export async function loadReportData(
  db: Db,
  runId: string,
  opts: ReportLoadOptions = {},
): Promise<ReportData> {
  const [run] = await db.select().from(runs).where(eq(runs.id, runId));
  if (!run) throw new Error(`no run ${runId} in the database`);
  const config = run.config;
  const genId = `${runId}-generate`;
  const totals = await generationTotals(db, genId);
  const gen: ReportData['generation'] = {
    ...totals,
    runId: genId,
    goals: config.generation?.goals ?? 0,
    dialogues: 0,
    turns: 0,
    model: `${config.generation?.llm?.provider ?? 'openai'}:${config.generation?.llm?.model ?? 'default'}`,
  };
  const [dd] = await db
    .select({
      n: sql<number>`count(*)::int`,
      turns: sql<number>`coalesce(sum(${dialogues.numUserTurns}),0)::int`,
    })
    .from(dialogues)
    .where(and(eq(dialogues.runId, genId), eq(dialogues.source, 'generated')));
  gen.dialogues = dd?.n ?? 0;
  gen.turns = dd?.turns ?? 0;
  const files = await db.select().from(datasets).where(eq(datasets.runId, runId));
  const ms = await db.select().from(models).where(eq(models.runId, runId));
  const evals = await db
    .select()
    .from(evaluations)
    .where(eq(evaluations.runId, runId))
    .orderBy(desc(evaluations.createdAt));
  const test = config.data?.test;
  return {
    runId,
    name: config.name ?? runId,
    // The report is the run's last step: a running run at that step has finished its work.
    status: run.status === 'running' && run.summary.step === 'report' ? 'completed' : run.status,
    generatedAt: new Date().toISOString(),
    generation: gen,
    datasets: files.map((f) => ({
      name: f.name,
      dialogues: f.dialogues,
      examples: f.examples,
      sha256: f.sha256,
    })),
    models: [...ms]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((m) => {
        const s = m.summary;
        return {
          name: m.name,
          init: m.init,
          status: m.status,
          steps: s.steps,
          trainLoss: s.trainLoss,
          curve: s.curve ?? [],
        };
      }),
    scores: evals.map((e) => ({
      model: e.model,
      convention: e.convention,
      jga: e.jga,
      slotAccuracy: e.slotAccuracy,
      slotF1: e.slotF1,
      turns: e.turns,
      perDomain: e.report.perDomain ?? {},
      ...(e.report.emptyStateJga !== undefined ? { emptyStateJga: e.report.emptyStateJga } : {}),
      dataset: e.dataset,
      split: e.split,
    })),
    test: test ? `${test.dataset}/${test.split}` : 'unknown',
    matrix: matrixOf(config),
    ...(await qualitySection(db, runId, opts)),
  };
}

async function qualitySection(db: Db, runId: string, opts: ReportLoadOptions) {
  const q = await reportQuality(db, runId, opts.realTraining);
  return { ...(q.quality ? { quality: q.quality } : {}), ...(q.error ? { qualityError: q.error } : {}) };
}

/** The run's experiment matrix, planned from its stored config (none for odd configs). */
function matrixOf(config: unknown): ReportData['matrix'] {
  try {
    return planMatrix(config as Parameters<typeof planMatrix>[0]);
  } catch {
    return undefined;
  }
}
