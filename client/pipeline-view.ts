/**
 * What a person sees while a pipeline runs: the current step and its live numbers, as a few
 * short lines. Pure: a snapshot and the time in, lines out (tests feed fakes).
 */
import type { ImportProgress } from '../activities/import-types';
import type { LiveProgress } from './generation';

/** A running activity of the pipeline, with its newest heartbeat. */
export interface ActivityProgress {
  /** `fineTune`, `predictStates`, `auditLabels`, … */
  type: string;
  /** The model trained or predicting, when known. */
  name?: string;
  /** Steps (training) or examples (prediction) done, and of how many. */
  step?: number;
  total?: number;
  loss?: number;
  attempt: number;
  /** Why the previous attempt failed, while a retry is waiting or running. */
  lastFailure?: string;
}

export interface PipelineSnapshot {
  runId: string;
  /** `running`, `completed`, `failed`, `cancelled`, `terminated`, `timed_out`. */
  status: string;
  step: string;
  imports: ImportProgress[];
  generation?: LiveProgress;
  /** LLM calls made so far by the dialogues in flight (from their heartbeats). */
  callsInFlight?: number;
  /**
   * Once, on the first snapshot after the generate step: its final totals, so the generation
   * line left on screen shows how it ended, not its last live numbers.
   */
  finishedGeneration?: LiveProgress;
  activities: ActivityProgress[];
}

/**
 * Remembers the first sighting of each counter and its latest change, to derive a rate and
 * from it an ETA that only changes when the counter does.
 */
export class Rates {
  private readonly seen = new Map<string, { first: Sighting; last: Sighting }>();

  /** Milliseconds left at the rate seen so far; undefined until the counter moved. */
  eta(key: string, value: number, total: number, now: number): number | undefined {
    const s = this.seen.get(key);
    if (!s || value < s.last.value) {
      this.seen.set(key, { first: { at: now, value }, last: { at: now, value } });
      return undefined;
    }
    if (value > s.last.value) s.last = { at: now, value };
    const { first, last } = s;
    if (last.value === first.value || last.at <= first.at) return undefined;
    return ((total - last.value) * (last.at - first.at)) / (last.value - first.value);
  }
}

interface Sighting {
  at: number;
  value: number;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  return n.toLocaleString('en');
}

function importLine(imports: ImportProgress[]): string {
  const done = imports.reduce((n, p) => n + p.done, 0);
  const total = imports.reduce((n, p) => n + p.total, 0);
  const planning = imports.some((p) => p.phase === 'planning');
  return `import    ${formatCount(done)}/${formatCount(total)} dialogues${planning ? ' (reading files)' : ''} in ${imports.length} split${imports.length === 1 ? '' : 's'}`;
}

function generationLine(g: LiveProgress, callsInFlight: number, now: number): string {
  const perMin = ((g.done - g.doneAtStart) / Math.max(1, now - g.startedAt)) * 60_000;
  const eta = perMin > 0 ? ((g.total - g.done) / perMin) * 60_000 : undefined;
  const reasons = Object.entries(g.reasons)
    .sort(([, a], [, b]) => (b ?? 0) - (a ?? 0))
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  return [
    `generate  ${g.done}/${g.total} goals`,
    `accepted ${g.accepted}`,
    `rejected ${g.rejected}${reasons ? ` (${reasons})` : ''}`,
    `${g.inFlight} in flight`,
    `${formatCount(g.calls)} calls${callsInFlight ? ` (+${formatCount(callsInFlight)} by running dialogues)` : ''}`,
    `${formatCount(g.promptTokens + g.completionTokens)} tokens`,
    `${perMin.toFixed(1)} goals/min`,
    `ETA ${g.done >= g.total ? '0s' : formatDuration(eta)}`,
    ...(g.status !== 'running' ? [g.status] : []),
  ].join(' · ');
}

const ACTIVITY_WORD: Record<string, string> = {
  fineTune: 'train',
  predictStates: 'predict',
  evaluatePredictions: 'score',
  auditLabels: 'audit',
  assembleDataset: 'assemble',
  writeReport: 'report',
};

function activityLine(a: ActivityProgress, rates: Rates, now: number): string {
  const word = (ACTIVITY_WORD[a.type] ?? a.type).padEnd(9);
  const parts = [`${word} ${a.name ?? ''}`.trimEnd()];
  if (a.step !== undefined && a.total) {
    const unit = a.type === 'predictStates' ? ' turns' : a.type === 'fineTune' ? ' steps' : '';
    parts.push(`${a.step}/${a.total}${unit}`);
    if (a.loss !== undefined) parts.push(`loss ${a.loss.toFixed(3)}`);
    const key = `${a.type}:${a.name ?? ''}:${a.attempt}`;
    parts.push(`ETA ${formatDuration(rates.eta(key, a.step, a.total, now))}`);
  } else parts.push(a.type === 'fineTune' ? 'starting' : 'running');
  if (a.attempt > 1) parts.push(`attempt ${a.attempt}${a.lastFailure ? ` after: ${a.lastFailure}` : ''}`);
  return parts.join(' · ');
}

/** The generate step's block once more, with its final totals (see `finishedGeneration`). */
export function renderFinishedGeneration(s: PipelineSnapshot, now: number): string[] | undefined {
  if (!s.finishedGeneration) return undefined;
  return [`[generate] ${s.runId}`, `  ${generationLine(s.finishedGeneration, 0, now)}`];
}

/** The lines shown for a snapshot: a header naming the step, then its numbers. */
export function renderSnapshot(s: PipelineSnapshot, rates: Rates, now: number): string[] {
  const header = `[${s.step}] ${s.runId}${s.status !== 'running' ? ` ${s.status}` : ''}`;
  const body: string[] = [];
  if (s.step === 'import' && s.imports.length) body.push(importLine(s.imports));
  if (s.step === 'generate' && s.generation)
    body.push(generationLine(s.generation, s.callsInFlight ?? 0, now));
  if (s.step === 'assemble' && !s.activities.length)
    body.push('assemble  writing the training and test files');
  for (const a of s.activities) body.push(activityLine(a, rates, now));
  return [header, ...body.map((l) => `  ${l}`)];
}
