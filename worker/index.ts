import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { createDevicePool, detectDevices } from '../training/devices';
import { TASK_QUEUE, WORKFLOW_TASK_QUEUE, type TaskQueue } from '../workflows/task-queues';
import { ensureSearchAttributes } from './search-attributes';

export interface WorkerSetOptions {
  connection: NativeConnection;
  /** Temporal namespace. Default `default`. */
  namespace?: string;
  /** Queues to serve. Default: all of `TASK_QUEUE`. */
  queues?: TaskQueue[];
  deps: ActivityDeps;
  /** Concurrent activities per queue (not `gpu`: one per device there). Default 10. */
  maxConcurrentActivities?: number;
  /**
   * GPUs for trainings (`--gpus`); default: detected (`CUDA_VISIBLE_DEVICES`, `nvidia-smi`),
   * none: one CPU device. Ignored when `deps.devices` is given.
   */
  gpus?: number;
  /**
   * Dialogue activities per second started across ALL workers of the `llm` queue (Temporal's
   * task-queue rate limit; the last worker to start sets it). Default: unlimited.
   */
  llmQueueActivitiesPerSecond?: number;
  /** Pre-built workflow bundle (tests build it once); default: bundle `workflows/`. */
  workflowBundle?: WorkflowBundle;
}

/** Bundles the workflow code once; the bundle is shared by every worker of the process. */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietLogger });
}

/** Creates one Temporal worker per served queue; workflows run on the data queue. */
export async function createWorkers(opts: WorkerSetOptions): Promise<Worker[]> {
  const queues = opts.queues ?? Object.values(TASK_QUEUE);
  // One trainer process per device: the gpu queue takes no more activities than there are.
  const devices =
    opts.deps.devices ?? createDevicePool(queues.includes(TASK_QUEUE.GPU) ? detectDevices(opts.gpus) : []);
  const activities = createActivities({ ...opts.deps, devices });
  const needsWorkflows = queues.includes(WORKFLOW_TASK_QUEUE);
  const bundle = needsWorkflows ? (opts.workflowBundle ?? (await bundleWorkflows())) : undefined;
  if (needsWorkflows) {
    const namespace = opts.namespace ?? 'default';
    const r = await ensureSearchAttributes(opts.connection, namespace);
    if (!r.ok) console.warn(`warning: ${r.message}`);
    else if (r.added.length)
      console.log(`registered search attributes ${r.added.join(', ')} on namespace ${namespace}`);
  }
  return Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection: opts.connection,
        namespace: opts.namespace ?? 'default',
        taskQueue,
        activities,
        maxConcurrentActivityTaskExecutions:
          taskQueue === TASK_QUEUE.GPU ? devices.size : (opts.maxConcurrentActivities ?? 10),
        // Heartbeats reach the server every 3 s at most (default: 0.8 × the heartbeat timeout),
        // so a short timeout (a dead worker noticed in ~15 s) still has margin for a busy CPU.
        maxHeartbeatThrottleInterval: '3 seconds',
        ...(taskQueue === TASK_QUEUE.LLM && opts.llmQueueActivitiesPerSecond
          ? { maxTaskQueueActivitiesPerSecond: opts.llmQueueActivitiesPerSecond }
          : {}),
        ...(taskQueue === WORKFLOW_TASK_QUEUE && bundle ? { workflowBundle: bundle } : {}),
      }),
    ),
  );
}

/** Runs the workers until one fails or `shutdown()` is called on them. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};
