/**
 * `dst-synth merge <dir...> --out <dir>`: several `export` folders (or earlier merges) as one
 * folder of the same layout, so a generated set can grow run by run (`examples/generated/`).
 *
 * Each input contributes its runs ("parts"): a plain export is one part (its `summary.json`'s
 * `run`), a merged folder holds several, and every line of a merged folder's jsonl files
 * carries its `run`. A run given again replaces its earlier part (re-export a run that went
 * on, merge it again: its dialogues are not doubled). Two runs holding the same dialogue id
 * are an error. `provenance.json` parts are carried over by run id, their counts taken from
 * the part's summary. Files the merge does not write (a README, a review) are left alone.
 *
 * Everything is read into memory: sized for thousands of dialogues, not millions.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadDataset } from './loaders';
import { emptySummary, openExportStream, writingTo, type ExportSummary } from './export-stream';
import type { Dialogue } from './types';

type Line = Record<string, unknown>;

/** One run's share of a merged folder. */
export interface MergePart {
  summary: ExportSummary;
  accepted: Line[];
  rejected: Line[];
  goals: Line[];
  dialogues: Dialogue[];
  /** The part's `provenance.json` entry, when its folder had one. */
  provenance?: Line;
}

/** `summary.json` of a merged folder: the totals, and each run's own summary. */
export type MergedSummary = ExportSummary & { runs: string[]; parts: ExportSummary[] };

const JSONL = ['accepted', 'rejected', 'goals'] as const;

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

function jsonLines(file: string): Line[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as Line;
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON`);
      }
    });
}

function summariesOf(dir: string): ExportSummary[] {
  const file = path.join(dir, 'summary.json');
  if (!existsSync(file))
    throw new Error(`${dir}: no summary.json (an unfinished export? run \`export\` again first)`);
  const s = readJson(file) as Partial<MergedSummary>;
  if (Array.isArray(s.parts)) return s.parts;
  if (typeof s.run !== 'string' || typeof s.accepted !== 'number')
    throw new Error(`${file}: not the summary of an \`export\` (no run): merge takes export folders`);
  return [s as ExportSummary];
}

/** A folder's dialogues: the 2.2 files (frames and all), with each dialogue's goal from data.json. */
async function dialoguesOf(dir: string): Promise<Dialogue[]> {
  const dataJson = path.join(dir, 'data.json');
  const goals = new Map((await loadDataset({ source: dataJson })).map((d) => [d.id, d.goal]));
  const d22 = await loadDataset({ source: path.join(dir, 'multiwoz22') });
  if (d22.length !== goals.size)
    throw new Error(`${dir}: data.json holds ${goals.size} dialogues, multiwoz22/ ${d22.length}`);
  return d22.map((d) => ({ ...d, goal: goals.get(d.id) }));
}

/** The parts an export or merged folder holds, by run id, in its order. */
export async function readParts(dir: string): Promise<MergePart[]> {
  const summaries = summariesOf(dir);
  const single = summaries.length === 1 ? summaries[0]!.run : undefined;
  const runOf = (l: Line) => (typeof l.run === 'string' ? l.run : single);
  const lines = Object.fromEntries(JSONL.map((k) => [k, jsonLines(path.join(dir, `${k}.jsonl`))]));
  const dialogues = await dialoguesOf(dir);
  const byId = new Map(dialogues.map((d) => [d.id, d]));
  const provFile = path.join(dir, 'provenance.json');
  const prov = existsSync(provFile) ? ((readJson(provFile) as { parts?: Line[] }).parts ?? []) : [];
  return summaries.map((summary) => {
    const mine = (k: (typeof JSONL)[number]) =>
      lines[k]!.filter((l) => runOf(l) === summary.run).map(({ run: _run, ...rest }) => rest);
    const accepted = mine('accepted');
    return {
      summary,
      accepted,
      rejected: mine('rejected'),
      goals: mine('goals'),
      dialogues: accepted.flatMap((a) => {
        const d = byId.get(String(a.id));
        if (!d) throw new Error(`${dir}: accepted.jsonl names ${String(a.id)}, not in data.json`);
        return [d];
      }),
      provenance: prov.find((p) => p.runId === summary.run),
    };
  });
}

/** Later parts of a run replace earlier ones; a dialogue id in two runs is an error. */
export function combineParts(parts: MergePart[]): MergePart[] {
  const byRun = new Map<string, MergePart>();
  for (const p of parts) byRun.set(p.summary.run, p);
  const out = [...byRun.values()];
  const owner = new Map<string, string>();
  for (const p of out)
    for (const d of p.dialogues) {
      const other = owner.get(d.id);
      if (other) throw new Error(`dialogue ${d.id} is in both run ${other} and run ${p.summary.run}`);
      owner.set(d.id, p.summary.run);
    }
  return out;
}

const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
};
const sorted = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The totals of several runs' summaries, with each one kept under `parts`. */
export function mergedSummary(parts: ExportSummary[]): MergedSummary {
  const t: MergedSummary = {
    ...emptySummary(parts.map((p) => p.run).join('+')),
    runs: parts.map((p) => p.run),
    parts,
  };
  for (const p of parts) {
    for (const k of ['goals', 'done', 'accepted', 'rejected', 'pending', 'dialogues', 'turns'] as const)
      t[k] += p[k];
    add(t.reasons, p.reasons);
    add(t.corrections, p.corrections);
    for (const k of ['calls', 'promptTokens', 'completionTokens', 'costUsd'] as const)
      t.usage[k] += p.usage[k];
  }
  t.usage.costUsd = Number(t.usage.costUsd.toFixed(6));
  t.reasons = sorted(t.reasons);
  t.corrections = sorted(t.corrections);
  return t;
}

function mergedProvenance(dirs: string[], parts: MergePart[], ids: Set<string>): Line | undefined {
  const files = dirs.map((d) => path.join(d, 'provenance.json')).filter((f) => existsSync(f));
  if (!files.length) return undefined;
  const all = files.map((f) => readJson(f) as Line & { validateFailures?: Array<{ id: string }> });
  const failures = new Map(all.flatMap((p) => p.validateFailures ?? []).map((f) => [f.id, f]));
  return {
    ...all[0],
    parts: parts.map((p) => ({
      ...(p.provenance ?? { runId: p.summary.run }),
      goalsDone: p.summary.done,
      accepted: p.summary.accepted,
      rejected: p.summary.rejected,
    })),
    validateFailures: [...failures.values()].filter((f) => ids.has(f.id)),
  };
}

const lines = (rows: Line[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');

/** Writes the merged folder's files into `dir` (a fresh, empty folder). */
async function writeMerged(dir: string, parts: MergePart[], provenance: Line | undefined) {
  const stream = await openExportStream(dir);
  for (const p of parts) for (const d of p.dialogues) await stream.add(d);
  await stream.close();
  for (const k of JSONL) {
    const rows = parts.flatMap((p) => p[k].map((l) => ({ run: p.summary.run, ...l })));
    const file = path.join(dir, `${k}.jsonl`);
    await writingTo(file, () => writeFile(file, lines(rows)));
  }
  if (provenance) {
    const file = path.join(dir, 'provenance.json');
    await writingTo(file, () => writeFile(file, `${JSON.stringify(provenance, null, 2)}\n`));
  }
}

/** The files a merge owns in its folder (`summary.json` last). */
const OWNED = [
  'multiwoz22',
  'data.json',
  'testListFile.json',
  'valListFile.json',
  ...JSONL.map((k) => `${k}.jsonl`),
  'provenance.json',
];

/**
 * Merges the export folders `dirs` (in order) into `out`, which may be one of them: the new
 * files are written beside it first, then moved in with `summary.json` last, so a failed merge
 * leaves `out` as it was or without a summary (never a summary over half-written files).
 */
export async function mergeExports(dirs: string[], out: string): Promise<MergedSummary> {
  if (!dirs.length) throw new Error('merge: name at least one export folder');
  const parts = combineParts((await Promise.all(dirs.map(readParts))).flat());
  const summary = mergedSummary(parts.map((p) => p.summary));
  const ids = new Set(parts.flatMap((p) => p.dialogues.map((d) => d.id)));
  const provenance = mergedProvenance(dirs, parts, ids);
  const parent = path.dirname(path.resolve(out));
  const tmp = await mkdtemp(path.join(parent, `.${path.basename(out)}.merge-`));
  try {
    await writeMerged(tmp, parts, provenance);
    await mkdir(out, { recursive: true });
    await rm(path.join(out, 'summary.json'), { force: true });
    for (const name of OWNED) {
      if (!existsSync(path.join(tmp, name))) continue;
      await rm(path.join(out, name), { recursive: true, force: true });
      await rename(path.join(tmp, name), path.join(out, name));
    }
    const file = path.join(out, 'summary.json');
    await writingTo(file, () => writeFile(file, `${JSON.stringify(summary, null, 2)}\n`));
    return summary;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
