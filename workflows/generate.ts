/**
 * Durable generation: a parent workflow fans a run of N goals out to child workflows of
 * `batchSize` goals, a bounded number at a time, and continues as new every
 * `childrenPerExecution` children (default 40) so no history grows past a few thousand events. Payloads
 * are goal indexes and counts; the dialogues are in Postgres.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { createGenerationActivities } from '../activities/generate';
import {
  addTotals,
  emptyTotals,
  type BatchInput,
  type BatchProgress,
  type DialogueResult,
  type GenerationInput,
  type GenerationProgress,
  type GenerationState,
  type GenerationTotals,
  type ResumeSignal,
} from '../activities/generate-types';
import { FAILURE, LLM_FATAL } from '../common/failure-types';
import { SA } from './search-attributes';
import { TASK_QUEUE, WORKFLOW_TASK_QUEUE } from './task-queues';

type Activities = ReturnType<typeof createGenerationActivities>;

const data = proxyActivities<Activities>({
  taskQueue: TASK_QUEUE.DATA,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [FAILURE.NO_SUCH_RUN, FAILURE.NO_SUCH_GOAL, FAILURE.INVALID_DATASET],
  },
});

function dialogueActivities(heartbeatSeconds: number) {
  return proxyActivities<Activities>({
    taskQueue: TASK_QUEUE.LLM,
    // A whole goal (up to 3 attempts of ~30 calls) under real rate limits.
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: `${heartbeatSeconds} seconds`,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      maximumAttempts: 50,
      // Retrying cannot fix a bad key, model or prompt.
      nonRetryableErrorTypes: [
        FAILURE.NO_SUCH_RUN,
        FAILURE.NO_SUCH_GOAL,
        FAILURE.INVALID_DATASET,
        ...LLM_FATAL,
      ],
    },
  });
}

export const generationProgressQuery = defineQuery<GenerationProgress>('progress');
/** A batch's own count of dialogues in flight (a query handler cannot ask other workflows). */
export const batchProgressQuery = defineQuery<BatchProgress>('batchProgress');
export const pauseSignal = defineSignal<[]>('pause');
export const resumeSignal = defineSignal<[ResumeSignal]>('resume');
export const cancelSignal = defineSignal<[]>('cancel');
/** Parent → batch: dialogues of this batch in flight from now on. */
export const concurrencySignal = defineSignal<[number]>('concurrency');

/** `patched()` ids of the generation workflows, one per change of their command sequence. */
export const GENERATION_PATCH = {
  /**
   * A batch's concurrency is the run's split over the batches that will run beside it (a lone
   * batch gets all of it, not half), at its start, on resume and when an execution's last
   * batches finish before it continues as new.
   */
  BATCH_SHARE: 'batch-share',
  /** With no batch left to start, the running batches take over the freed slots. */
  REBALANCE_TAIL: 'rebalance-tail',
  /**
   * The parent waits for its signal handlers (each forwards the signal to the batches) before
   * it continues as new, fails or returns, so no forwarded pause, resume or cancel is dropped.
   */
  HANDLERS_FINISHED: 'handlers-finished',
} as const;
const { BATCH_SHARE, REBALANCE_TAIL, HANDLERS_FINISHED } = GENERATION_PATCH;

/** Goals planned per activity. */
const PLAN_CHUNK = 5000;

/** The parent of a generation run. Its workflow id is the run id. */
export async function generationWorkflow(input: GenerationInput): Promise<GenerationTotals> {
  const { runId, config } = input;
  const total = config.goals;
  const fresh = !input.state;
  if (fresh) await data.startGenerationRun({ runId, config });
  const state: GenerationState = input.state ?? {
    next: 0,
    totals: await data.runTotals({ runId }),
    paused: false,
    concurrency: config.concurrency,
    generation: 0,
  };
  const doneAtStart = state.totals.done;
  const children = new Map<
    string,
    { handle: ChildWorkflowHandle<typeof generationBatchWorkflow>; size: number }
  >();
  let cancelling = false;
  let failure: unknown;
  let started = 0;
  const perExecution = config.childrenPerExecution ?? 40;

  /** The run's concurrency split over `running` batches. */
  const share = (running: number) => Math.max(1, Math.ceil(state.concurrency / Math.max(1, running)));
  /** Before the `batch-share` patch: every batch got half, even one running alone. */
  const perChild = () => share(2);
  /** No batch left to start in this execution: the batches running now are all there will be. */
  const noneToStart = () => state.next >= total || started >= perExecution;
  const signalChildren = async (fn: (id: string) => Promise<void>) => {
    await Promise.all([...children.keys()].map((id) => fn(id).catch(() => undefined)));
  };
  setHandler(generationProgressQuery, () => ({
    runId,
    total,
    ...state.totals,
    batches: [...children.keys()],
    paused: state.paused,
    cancelling,
    concurrency: state.concurrency,
    startedAt: workflowInfo().startTime.getTime(),
    doneAtStart,
    status: cancelling ? 'cancelling' : state.paused ? 'paused' : 'running',
  }));
  // Async handlers (awaiting the forwarded signals), so `allHandlersFinished` counts them.
  setHandler(pauseSignal, async () => {
    state.paused = true;
    await signalChildren((id) => getExternalWorkflowHandle(id).signal(pauseSignal));
  });
  setHandler(resumeSignal, async (s: ResumeSignal) => {
    state.paused = false;
    if (s.concurrency) state.concurrency = s.concurrency;
    // With more batches to start, two run at once; else the running ones share it all.
    const concurrency = noneToStart() && patched(BATCH_SHARE) ? share(children.size) : perChild();
    await signalChildren((id) => getExternalWorkflowHandle(id).signal(resumeSignal, { concurrency }));
  });
  setHandler(cancelSignal, async () => {
    cancelling = true;
    await signalChildren((id) => getExternalWorkflowHandle(id).signal(cancelSignal));
  });
  /** Before the execution ends (`HANDLERS_FINISHED`): every signal handler has finished. */
  const handlersFinished = async () => {
    if (patched(HANDLERS_FINISHED)) await condition(allHandlersFinished);
  };

  const show = (status: string) => {
    upsertSearchAttributes([
      { key: SA.RUN_KIND, value: 'generate' },
      { key: SA.RUN_STATUS, value: status },
      { key: SA.DONE, value: state.totals.done },
      { key: SA.TOTAL, value: total },
    ]);
    upsertMemo({
      accepted: state.totals.accepted,
      rejected: state.totals.rejected,
      calls: state.totals.calls,
      costUsd: state.totals.costUsd,
    });
  };
  show('running');

  if (fresh)
    for (let from = 0; from < total; from += PLAN_CHUNK)
      await data.planGoals({ runId, from, to: Math.min(total, from + PLAN_CHUNK) });

  const maxChildren = () => Math.max(1, Math.min(2, Math.ceil(state.concurrency / config.batchSize) + 1));
  while (state.next < total && !cancelling && failure === undefined && started < perExecution) {
    await condition(
      () => cancelling || failure !== undefined || (!state.paused && children.size < maxChildren()),
    );
    if (cancelling || failure !== undefined) break;
    const from = state.next;
    const to = Math.min(total, from + config.batchSize);
    // The last batch to start in this execution shares the concurrency with those still
    // running only: alone (a run of one batch, or the others done), it gets it all.
    const last = to >= total || started + 1 >= perExecution;
    const concurrency = last && patched(BATCH_SHARE) ? share(children.size + 1) : perChild();
    const batch: BatchInput = { runId, from, to, concurrency };
    const id = `${runId}-batch-${from}`;
    const handle = await startChild(generationBatchWorkflow, {
      workflowId: id,
      taskQueue: WORKFLOW_TASK_QUEUE,
      args: [batch, config.heartbeatTimeoutSeconds],
    });
    children.set(id, { handle, size: to - from });
    state.next = to;
    started++;
    handle
      .result()
      .then((t) => {
        addTotals(state.totals, t);
        show(state.paused ? 'paused' : 'running');
      })
      .catch((e: unknown) => {
        failure ??= e;
        // A bad key or model fails every dialogue: stop the other batches starting new ones.
        void signalChildren((other) => getExternalWorkflowHandle(other).signal(cancelSignal));
      })
      .finally(() => {
        children.delete(id);
        // With no batch left to start, the batches still running take over the freed slots,
        // so the run's tail (and an execution's, before it continues as new) keeps
        // `concurrency` dialogues in flight.
        if (
          children.size > 0 &&
          (state.next >= total ? patched(REBALANCE_TAIL) : started >= perExecution && patched(BATCH_SHARE))
        ) {
          const n = share(children.size);
          void signalChildren((other) => getExternalWorkflowHandle(other).signal(concurrencySignal, n));
        }
      });
  }
  await condition(() => children.size === 0);

  if (failure !== undefined) {
    const message = failureMessage(failure);
    show('failed');
    await data.finishGenerationRun({ runId, status: 'failed', totals: state.totals, error: message });
    await handlersFinished();
    throw ApplicationFailure.nonRetryable(
      `generation run ${runId} stopped: ${message}`,
      FAILURE.GENERATION_FAILED,
    );
  }
  if (!cancelling && state.next < total) {
    state.generation++;
    await handlersFinished();
    await continueAsNew<typeof generationWorkflow>({ runId, config, state });
  }
  const status = cancelling ? 'cancelled' : 'completed';
  show(status);
  await data.finishGenerationRun({ runId, status, totals: state.totals });
  await handlersFinished();
  return state.totals;
}

/** The innermost cause's message: what the user must fix. */
export function failureMessage(e: unknown): string {
  let cur: unknown = e;
  let msg = e instanceof Error ? e.message : String(e);
  while (cur instanceof Error && cur.cause) {
    cur = cur.cause;
    if (cur instanceof Error && cur.message) msg = cur.message;
  }
  return msg;
}

/** One batch of goals: its pending goals, `concurrency` dialogues at a time. */
export async function generationBatchWorkflow(
  input: BatchInput,
  heartbeatSeconds = 60,
): Promise<GenerationTotals> {
  const { simulateDialogue } = dialogueActivities(heartbeatSeconds);
  const totals = emptyTotals();
  let concurrency = input.concurrency;
  let paused = false;
  let cancelled = false;
  let inFlight = 0;
  let failure: unknown;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, (s: ResumeSignal) => {
    paused = false;
    if (s.concurrency) concurrency = s.concurrency;
  });
  setHandler(cancelSignal, () => void (cancelled = true));
  setHandler(concurrencySignal, (n: number) => void (concurrency = n));
  setHandler(batchProgressQuery, () => ({ inFlight, totals }));

  const pending = await data.pendingGoals({ runId: input.runId, from: input.from, to: input.to });
  const record = (r: DialogueResult) => {
    const t = emptyTotals();
    t.done = 1;
    if (r.status === 'accepted') t.accepted = 1;
    else {
      t.rejected = 1;
      if (r.reason) t.reasons[r.reason] = 1;
    }
    t.calls = r.calls;
    t.promptTokens = r.promptTokens;
    t.completionTokens = r.completionTokens;
    t.costUsd = r.costUsd;
    addTotals(totals, t);
  };
  for (const goalIndex of pending) {
    await condition(() => cancelled || failure !== undefined || (!paused && inFlight < concurrency));
    if (cancelled || failure !== undefined) break;
    inFlight++;
    simulateDialogue({ runId: input.runId, goalIndex })
      .then(record)
      .catch((e: unknown) => {
        failure ??= e;
      })
      .finally(() => inFlight--);
  }
  await condition(() => inFlight === 0);
  if (failure !== undefined) throw failure;
  return totals;
}
