/**
 * A generation run's totals, summed over finished goals: carried by the workflows, stored in
 * `runs.summary` and read by the console and the report. Types and one pure helper: workflows
 * and the schema (`db/schema.ts`) import this file.
 */
import type { Reason } from '../simulator/types';

/** Counts summed over finished goals. */
export interface GenerationTotals {
  done: number;
  accepted: number;
  rejected: number;
  /** Rejected goals by the reason of their last attempt. */
  reasons: Partial<Record<Reason, number>>;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export const emptyTotals = (): GenerationTotals => ({
  done: 0,
  accepted: 0,
  rejected: 0,
  reasons: {},
  calls: 0,
  promptTokens: 0,
  completionTokens: 0,
  costUsd: 0,
});

/** Adds `r` into `t`. */
export function addTotals(t: GenerationTotals, r: GenerationTotals): void {
  t.done += r.done;
  t.accepted += r.accepted;
  t.rejected += r.rejected;
  for (const [k, v] of Object.entries(r.reasons)) {
    const key = k as keyof GenerationTotals['reasons'];
    t.reasons[key] = (t.reasons[key] ?? 0) + (v ?? 0);
  }
  t.calls += r.calls;
  t.promptTokens += r.promptTokens;
  t.completionTokens += r.completionTokens;
  t.costUsd += r.costUsd;
}
