/**
 * Inputs and outputs of the generation workflows and activities. Payloads carry ids and
 * counts only; goals, sessions and dialogues live in Postgres. Types only (plus one pure
 * helper): workflows import this file, so it must pull in no Node or LLM code.
 */
import type { Reason } from '../simulator/types';
import type { GenerationConfig } from '../pipeline/generation-config';
import type { GenerationTotals } from '../pipeline/generation-totals';

export type { GenerationConfig, GenerationConfigInput } from '../pipeline/generation-config';
export { addTotals, emptyTotals, type GenerationTotals } from '../pipeline/generation-totals';

export interface GenerationInput {
  /** Run id (also the workflow id of the first execution). */
  runId: string;
  config: GenerationConfig;
  /** Carried across continue-as-new. */
  state?: GenerationState;
}

/** What the parent workflow carries across continue-as-new. */
export interface GenerationState {
  /** Next goal index not yet handed to a batch. */
  next: number;
  totals: GenerationTotals;
  paused: boolean;
  concurrency: number;
  /** Continue-as-new generations so far (for the UI). */
  generation: number;
}

export interface BatchInput {
  runId: string;
  from: number;
  to: number;
  /** Dialogues of this batch in flight at once. */
  concurrency: number;
}

export interface PlanGoalsInput {
  runId: string;
  from: number;
  to: number;
}

export interface GoalRangeInput {
  runId: string;
  from: number;
  to: number;
}

export interface SimulateDialogueInput {
  runId: string;
  goalIndex: number;
}

export const GOAL_OUTCOME = { ACCEPTED: 'accepted', REJECTED: 'rejected' } as const;

/** One goal's result (what the batch adds to the totals). */
export interface DialogueResult {
  goalIndex: number;
  status: (typeof GOAL_OUTCOME)[keyof typeof GOAL_OUTCOME];
  attempts: number;
  reason?: Reason;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** LLM steps taken over from an earlier, interrupted activity attempt. */
  resumedSteps: number;
}

export interface StartRunInput {
  runId: string;
  config: GenerationConfig;
}

export interface FinishRunInput {
  runId: string;
  status: 'completed' | 'cancelled' | 'failed' | 'paused' | 'running';
  totals: GenerationTotals;
  error?: string;
}

/** Progress as the `progress` query returns it. */
export interface GenerationProgress extends GenerationTotals {
  runId: string;
  total: number;
  /** Workflow ids of the batches running now; each answers `batchProgress` with its dialogues in flight. */
  batches: string[];
  paused: boolean;
  cancelling: boolean;
  concurrency: number;
  /** Start of this workflow execution (ms since epoch) and goals done then: the CLI derives the rate. */
  startedAt: number;
  doneAtStart: number;
  status: string;
}

/** A batch's `batchProgress` query. */
export interface BatchProgress {
  /** Dialogues (activities) of this batch started and not yet finished. */
  inFlight: number;
  /** Its finished dialogues so far (the parent adds them only when the batch ends). Absent from older workers. */
  totals?: GenerationTotals;
}

export interface ResumeSignal {
  /** New number of dialogues in flight. */
  concurrency?: number;
}
