/**
 * Client-side control of generation runs: start, resume, signal and read progress. Used by
 * the CLI commands and by tests.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { GenerationConfigSchema } from '../pipeline/generation-config';
import {
  addTotals,
  emptyTotals,
  type GenerationConfig,
  type GenerationConfigInput,
  type GenerationInput,
  type GenerationProgress,
  type GenerationTotals,
} from '../activities/generate-types';
import {
  batchProgressQuery,
  cancelSignal,
  failureMessage,
  generationProgressQuery,
  generationWorkflow,
  pauseSignal,
  resumeSignal,
} from '../workflows/generate';
import { SA } from '../workflows/search-attributes';
import { WORKFLOW_TASK_QUEUE } from '../workflows/task-queues';

export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `gen-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Validates a config (a clear list of bad fields otherwise). */
export function parseGenerationConfig(input: GenerationConfigInput): GenerationConfig {
  const r = GenerationConfigSchema.safeParse(input);
  if (!r.success) {
    throw new Error(
      `invalid generation config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return r.data;
}

export async function startGeneration(client: Client, runId: string, config: GenerationConfig) {
  const input: GenerationInput = { runId, config };
  return client.workflow.start(generationWorkflow, {
    taskQueue: WORKFLOW_TASK_QUEUE,
    workflowId: runId,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    memo: { goals: config.goals, model: config.llm.model ?? config.llm.provider ?? 'openai' },
  });
}

export interface ResumeOptions {
  concurrency?: number;
  rpm?: number;
  tpm?: number;
}

/**
 * Resumes a run: a paused one gets a `resume` signal; a failed, cancelled or terminated one
 * is started again under the same id with its original config (goals already done are
 * skipped, in-progress dialogues continue from their saved session).
 */
export async function resumeGeneration(
  client: Client,
  runId: string,
  opts: ResumeOptions = {},
): Promise<'signalled' | 'restarted' | 'completed'> {
  const handle = client.workflow.getHandle(runId);
  const desc = await handle.describe();
  if (desc.status.name === 'RUNNING') {
    await handle.signal(resumeSignal, { concurrency: opts.concurrency });
    return 'signalled';
  }
  const config = await originalConfig(client, runId);
  if (desc.status.name === 'COMPLETED') {
    // A cancelled run completes its workflow with fewer goals done than planned.
    const totals = (await handle.result()) as GenerationTotals;
    if (totals.done >= config.goals) return 'completed';
  }
  const next = parseGenerationConfig({
    ...config,
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(opts.rpm ? { rpm: opts.rpm } : {}),
    ...(opts.tpm ? { tpm: opts.tpm } : {}),
  });
  await startGeneration(client, runId, next);
  return 'restarted';
}

/** The config a run was started with (from the first event of its latest execution). */
export async function originalConfig(client: Client, runId: string): Promise<GenerationConfig> {
  const history = await client.workflow.getHandle(runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`${runId}: cannot read the run's configuration from its history`);
  return defaultPayloadConverter.fromPayload<GenerationInput>(payload).config;
}

export async function pauseGeneration(client: Client, runId: string): Promise<void> {
  await client.workflow.getHandle(runId).signal(pauseSignal);
}

export async function cancelGeneration(client: Client, runId: string): Promise<void> {
  await client.workflow.getHandle(runId).signal(cancelSignal);
}

/** The parent's progress plus the dialogues in flight, summed over its running batches. */
export type LiveProgress = GenerationProgress & { inFlight: number };

export interface RunStatus {
  runId: string;
  status: string;
  progress?: LiveProgress;
  totals?: GenerationTotals;
  total?: number;
  error?: string;
}

/** Live progress of a running run, or the outcome of a closed one. */
export async function generationStatus(client: Client, runId: string): Promise<RunStatus> {
  const handle = client.workflow.getHandle(runId);
  const desc = await handle.describe();
  if (desc.status.name === 'RUNNING') {
    const parent = await queryOnceStarted(() => handle.query(generationProgressQuery));
    const live = await runningBatches(client, parent.batches);
    // The parent counts a batch's dialogues when the batch ends: add the running ones' so far.
    const counted = { ...emptyTotals(), ...parent, reasons: { ...parent.reasons } };
    addTotals(counted, live.totals);
    const progress = { ...parent, ...counted, inFlight: live.inFlight };
    return { runId, status: progress.status, progress, totals: progress, total: progress.total };
  }
  const status = desc.status.name.toLowerCase();
  const memo = (desc.memo ?? {}) as Record<string, number>;
  const total = desc.typedSearchAttributes.get(SA.TOTAL);
  if (desc.status.name === 'COMPLETED') {
    const totals = (await handle.result()) as GenerationTotals;
    return { runId, status: 'completed', totals, total };
  }
  let error: string | undefined;
  try {
    await handle.result();
  } catch (e) {
    error = failureMessage(e);
  }
  return {
    runId,
    status,
    total,
    error,
    totals: {
      ...emptyTotals(),
      done: (memo.accepted ?? 0) + (memo.rejected ?? 0),
      accepted: memo.accepted ?? 0,
      rejected: memo.rejected ?? 0,
      calls: memo.calls ?? 0,
      costUsd: memo.costUsd ?? 0,
    },
  };
}

/**
 * A run started a moment ago may not have run its first workflow task yet, and then has no
 * query handlers: ask again for up to `waitMs` (default 30 s) instead of failing `--watch`.
 */
export async function queryOnceStarted<T>(ask: () => Promise<T>, waitMs = 30_000, stepMs = 500): Promise<T> {
  for (let waited = 0; ; waited += stepMs) {
    try {
      return await ask();
    } catch (e) {
      const early = e instanceof Error && /did not register a handler/.test(e.message);
      if (!early || waited >= waitMs) throw e;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/**
 * Dialogues in flight and finished so far across the parent's running batches. A batch that
 * closed after the parent's answer counts none in flight, and its totals once: the parent's
 * answer did not have them yet.
 */
async function runningBatches(
  client: Client,
  batches: readonly string[],
): Promise<{ inFlight: number; totals: GenerationTotals }> {
  const answers = await Promise.all(
    batches.map((id) =>
      client.workflow
        .getHandle(id)
        .query(batchProgressQuery)
        .catch(() => undefined),
    ),
  );
  const totals = emptyTotals();
  let inFlight = 0;
  for (const a of answers) {
    inFlight += a?.inFlight ?? 0;
    if (a?.totals) addTotals(totals, a.totals);
  }
  return { inFlight, totals };
}
