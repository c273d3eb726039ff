/**
 * `dst-synth export <run>`: a durable generation run (or a pipeline's generation step) as
 * files, like `simulate` writes them — the accepted dialogues in the 2.2 layout
 * (`multiwoz22/generated/dialogues_NNN.json` + `schema.json`) and as `data.json`;
 * `accepted.jsonl` (per accepted dialogue: goal index, id, corrected checks, usage, turns
 * with system acts), `rejected.jsonl` (every rejected attempt with its reason and failed
 * checks), `goals.jsonl` and `summary.json`.
 *
 * Streams from Postgres: goals are read in pages by goal index (keyset), with their attempts
 * and accepted dialogues, so memory stays bounded by one page whatever the run's size. The
 * order is goal index, then attempt; nothing time-dependent is written, so exporting the
 * same run twice gives the same bytes.
 */
import { mkdirSync, type WriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { and, asc, between, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { generationRunOf } from '../db/generation-run';
import { dialogues, generationAttempts, generationGoals } from '../db/schema';
import {
  emptySummary,
  openExportStream,
  openFile,
  write,
  writingTo,
  type ExportSummary,
} from '../multiwoz/export-stream';

/** Goals read per query. */
export const EXPORT_PAGE = 500;

export type { ExportSummary };

const line = (out: WriteStream, v: unknown) => write(out, `${JSON.stringify(v)}\n`);

/**
 * A failed write as one line to act on: where, which file, and for a full disk what to do
 * (the next export overwrites every file, so a rerun once there is room completes).
 */
export class ExportWriteError extends Error {
  override readonly name = 'ExportWriteError';
  constructor(outDir: string, cause: unknown) {
    const e = cause as NodeJS.ErrnoException;
    const full = e.code === 'ENOSPC' || e.code === 'EDQUOT';
    const what = full ? `no space left on device (${e.code})` : `${e.message}${e.code ? ` (${e.code})` : ''}`;
    super(
      `export to ${outDir} failed: ${what}${e.path ? ` writing ${e.path}` : ''}${full ? '; free space and run it again' : ''}`,
      { cause },
    );
  }
}

const isFsError = (e: unknown) =>
  !!e && typeof e === 'object' && 'syscall' in e && typeof (e as { code?: unknown }).code === 'string';

const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

type ExportOptions = { onProgress?: (done: number, total: number) => void; pageSize?: number };

/**
 * Writes the export of `runId` under `outDir`; `onProgress(goalsDone, goalsTotal)` per page.
 * `summary.json` is written last and removed first, so it is there only when this export
 * completed; a failed write (a full disk) throws `ExportWriteError` naming the file.
 */
export async function exportRun(
  db: Db,
  runId: string,
  outDir: string,
  opts: ExportOptions = {},
): Promise<{ summary: ExportSummary; files: string[] }> {
  try {
    return await writeRun(db, runId, outDir, opts);
  } catch (e) {
    throw isFsError(e) ? new ExportWriteError(outDir, e) : e;
  }
}

async function writeRun(
  db: Db,
  runId: string,
  outDir: string,
  opts: ExportOptions,
): Promise<{ summary: ExportSummary; files: string[] }> {
  const { onProgress, pageSize = EXPORT_PAGE } = opts;
  const gen = await generationRunOf(db, runId);
  const [t] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(generationGoals)
    .where(eq(generationGoals.runId, gen));
  const total = t?.n ?? 0;
  mkdirSync(outDir, { recursive: true });
  // An earlier export's summary would mark a half-written one as complete.
  const summary = path.join(outDir, 'summary.json');
  await rm(summary, { force: true });
  const dialogueFiles = await openExportStream(outDir);
  const open = (name: string) => openFile(path.join(outDir, name));
  const [acc, rej, goalsOut] = [open('accepted.jsonl'), open('rejected.jsonl'), open('goals.jsonl')];
  const s: ExportSummary = emptySummary(gen, total);
  let after = -1;
  let seen = 0;
  onProgress?.(0, total);
  for (;;) {
    const goals = await db
      .select({
        goalIndex: generationGoals.goalIndex,
        goal: generationGoals.goal,
        status: generationGoals.status,
        dialogueId: generationGoals.dialogueId,
      })
      .from(generationGoals)
      .where(and(eq(generationGoals.runId, gen), gt(generationGoals.goalIndex, after)))
      .orderBy(asc(generationGoals.goalIndex))
      .limit(pageSize);
    if (!goals.length) break;
    const first = goals[0]!.goalIndex;
    after = goals[goals.length - 1]!.goalIndex;
    const attempts = await db
      .select()
      .from(generationAttempts)
      .where(and(eq(generationAttempts.runId, gen), between(generationAttempts.goalIndex, first, after)))
      .orderBy(asc(generationAttempts.goalIndex), asc(generationAttempts.attempt));
    const ids = goals.flatMap((g) => (g.status === 'accepted' && g.dialogueId ? [g.dialogueId] : []));
    const rows = ids.length
      ? await db
          .select({ id: dialogues.dialogueId, content: dialogues.content })
          .from(dialogues)
          .where(
            and(
              eq(dialogues.runId, gen),
              eq(dialogues.source, 'generated'),
              inArray(dialogues.dialogueId, ids),
            ),
          )
      : [];
    const byId = new Map(rows.map((r) => [r.id, r.content]));
    for (const g of goals) {
      await line(goalsOut, { index: g.goalIndex, goal: g.goal });
      if (g.status === 'pending') s.pending++;
      else s.done++;
      const mine = attempts.filter((a) => a.goalIndex === g.goalIndex);
      for (const a of mine) {
        s.usage.calls += a.calls;
        s.usage.promptTokens += a.promptTokens;
        s.usage.completionTokens += a.completionTokens;
        s.usage.costUsd += a.costUsd;
        if (!a.accepted) {
          count(s.reasons, a.reason ?? 'unknown');
          await line(rej, {
            goal_index: g.goalIndex,
            attempt: a.attempt,
            reason: a.reason,
            failures: a.failures,
            turns: a.turns,
          });
        }
      }
      const d = g.dialogueId ? byId.get(g.dialogueId) : undefined;
      if (g.status === 'rejected') s.rejected++;
      if (g.status !== 'accepted' || !d) continue;
      s.accepted++;
      const a = mine.find((x) => x.accepted) ?? mine[mine.length - 1];
      for (const f of a?.failures ?? []) count(s.corrections, f.reason);
      await line(acc, {
        goal_index: g.goalIndex,
        id: d.id,
        failures: a?.failures ?? [],
        usage: a && {
          calls: a.calls,
          promptTokens: a.promptTokens,
          completionTokens: a.completionTokens,
          costUsd: a.costUsd,
          ...(a.roleUsage ? { byRole: a.roleUsage } : {}),
        },
        turns: a?.turns ?? [],
      });
      await dialogueFiles.add(d);
      s.dialogues++;
      s.turns += d.turns.filter((x) => x.speaker === 'USER').length;
    }
    seen += goals.length;
    onProgress?.(seen, total);
  }
  const files = await dialogueFiles.close();
  for (const out of [acc, rej, goalsOut]) {
    out.end();
    await writingTo(String(out.path), () => finished(out));
  }
  s.usage.costUsd = Number(s.usage.costUsd.toFixed(6));
  s.reasons = sorted(s.reasons);
  s.corrections = sorted(s.corrections);
  await writingTo(summary, () => writeFile(summary, `${JSON.stringify(s, null, 2)}\n`));
  const jsonl = ['accepted.jsonl', 'rejected.jsonl', 'goals.jsonl'].map((f) => path.join(outDir, f));
  return { summary: s, files: [...files, ...jsonl, summary] };
}

const sorted = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
