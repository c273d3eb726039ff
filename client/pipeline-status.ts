/**
 * Reads a pipeline's live state from Temporal: its step (progress query), the import and
 * generation children's own progress queries, and the pending activities' newest heartbeat
 * details (trainer step / total / loss, prediction examples) from `describe`.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { ImportProgress } from '../activities/import-types';
import { importProgressQuery } from '../workflows/import';
import { pipelineProgressQuery } from '../workflows/pipeline';
import { generationStatus, type LiveProgress } from './generation';
import type { ActivityProgress, PipelineSnapshot } from './pipeline-view';

type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

/** Quick bookkeeping activities not worth a line. */
const HIDDEN_ACTIVITIES = new Set(['recordPipeline']);

function firstPayload<T>(p: Payloads): T | undefined {
  const first = p?.payloads?.[0];
  if (!first) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(first);
  } catch {
    return undefined;
  }
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Follows one pipeline run; keeps what it learnt (activity names) between snapshots. */
export class PipelineWatcher {
  readonly handle: WorkflowHandle;
  /** Activity id → the model (or other name) in its input, read from the history. */
  private readonly names = new Map<string, string>();
  /** The generate step's newest live progress, until its final totals were shown. */
  private lastGeneration?: LiveProgress;

  constructor(
    private readonly client: Client,
    readonly runId: string,
  ) {
    this.handle = client.workflow.getHandle(runId);
  }

  /** The generate step's final totals, once, when the step was seen running and has ended. */
  private async finishedGeneration(): Promise<LiveProgress | undefined> {
    const last = this.lastGeneration;
    if (!last) return undefined;
    const end = await generationStatus(this.client, last.runId).catch(() => undefined);
    if (!end?.totals || end.status === 'running') return undefined;
    return { ...last, ...end.totals, inFlight: 0, batches: [], status: end.status };
  }

  async snapshot(): Promise<PipelineSnapshot> {
    const desc = await this.handle.describe();
    const status = desc.status.name.toLowerCase();
    const memoStep = (desc.memo as { step?: string } | undefined)?.step;
    const step =
      status === 'running'
        ? await this.handle
            .query(pipelineProgressQuery)
            .then((p) => p.step)
            .catch(() => memoStep ?? 'starting')
        : (memoStep ?? status);
    const pending = (desc.raw.pendingActivities ?? [])
      .filter((a) => !HIDDEN_ACTIVITIES.has(a.activityType?.name ?? ''))
      // In the order they were scheduled, so lines keep their places.
      .sort((a, b) => Number(a.activityId) - Number(b.activityId));
    if (pending.some((a) => a.activityId && !this.names.has(a.activityId))) await this.learnNames();
    const generation =
      step === 'generate' && status === 'running'
        ? (await generationStatus(this.client, `${this.runId}-generate`).catch(() => undefined))?.progress
        : undefined;
    const finishedGeneration = generation ? undefined : await this.finishedGeneration();
    this.lastGeneration = generation ?? (finishedGeneration ? undefined : this.lastGeneration);
    return {
      runId: this.runId,
      status,
      step,
      imports: step === 'import' && status === 'running' ? await this.imports() : [],
      generation,
      callsInFlight: generation ? await this.callsInFlight(generation.batches) : undefined,
      ...(finishedGeneration ? { finishedGeneration } : {}),
      activities: pending.map((a): ActivityProgress => {
        const beat = firstPayload<Record<string, unknown>>(a.heartbeatDetails);
        return {
          type: a.activityType?.name ?? '?',
          name: (a.activityId && this.names.get(a.activityId)) || undefined,
          step: num(beat?.step),
          total: num(beat?.total),
          loss: num(beat?.loss),
          attempt: a.attempt ?? 1,
          lastFailure: a.lastFailure?.message ?? undefined,
        };
      }),
    };
  }

  /** LLM steps the batches' running dialogues report in their heartbeats. */
  private async callsInFlight(batches: readonly string[]): Promise<number> {
    const perBatch = await Promise.all(
      batches.map((id) =>
        this.client.workflow
          .getHandle(id)
          .describe()
          .then((d) =>
            (d.raw.pendingActivities ?? []).reduce(
              (n, a) => n + (num(firstPayload<{ steps?: unknown }>(a.heartbeatDetails)?.steps) ?? 0),
              0,
            ),
          )
          .catch(() => 0),
      ),
    );
    return perBatch.reduce((a, b) => a + b, 0);
  }

  /** The import children `<run>-import-0…`, as many as answer. */
  private async imports(): Promise<ImportProgress[]> {
    const out: ImportProgress[] = [];
    for (let i = 0; i < 32; i++) {
      const p = await this.client.workflow
        .getHandle(`${this.runId}-import-${i}`)
        .query(importProgressQuery)
        .catch(() => undefined);
      if (!p) break;
      out.push(p);
    }
    return out;
  }

  private async learnNames(): Promise<void> {
    const history = await this.handle.fetchHistory();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (!s?.activityId) continue;
      const input = firstPayload<{ name?: unknown; model?: unknown }>(s.input);
      const name = input?.name ?? input?.model;
      // Nameless ones too, so they do not trigger another read of the history.
      this.names.set(s.activityId, typeof name === 'string' ? name : '');
    }
  }
}
