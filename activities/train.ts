/**
 * `fineTune` and `predictStates` on the `gpu` queue: the Python trainer as a child process.
 * Progress lines become heartbeats (with the newest checkpoint, so a retry resumes from it:
 * the trainer resumes from the newest checkpoint in its output folder); cancellation kills
 * the process; bad config and out-of-memory fail without retries, with the trainer's words.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { models } from '../db/schema';
import {
  createDevicePool,
  DeviceRequestError,
  launcherArgs,
  onDevices,
  type DeviceLease,
  type DevicePool,
} from '../training/devices';
import { runTrainer, trainerFlags, type TrainerEvent, type TrainerRun } from '../training/trainer-process';
import type { FineTuneInput, FineTuneResult, PredictInput } from './pipeline-types';
import { TRAINER_FAILURE } from '../common/failure-types';

/** Re-exported for callers that match trainer failures (tests, the console). */
export { TRAINER_FAILURE };

function failureOf(run: TrainerRun, what: string): Error {
  const err = [...run.events].reverse().find((e) => e.event === 'error');
  const msg = err?.message ?? (run.stderrTail.trim() || `exit code ${run.code}`);
  if (run.stalledMs !== undefined)
    return ApplicationFailure.retryable(
      `${what}: no trainer progress for ${Math.round(run.stalledMs / 1000)} s, trainer stopped`,
      TRAINER_FAILURE.STALLED,
    );
  if (run.code === 2) return ApplicationFailure.nonRetryable(`${what}: ${msg}`, TRAINER_FAILURE.CONFIG);
  if (run.code === 3)
    return ApplicationFailure.nonRetryable(`${what}: out of memory: ${msg}`, TRAINER_FAILURE.OOM);
  // A retry would fill the same disk again: free space (or lower save-total-limit) first.
  if (run.code === 4) return ApplicationFailure.nonRetryable(`${what}: ${msg}`, TRAINER_FAILURE.DISK_FULL);
  return ApplicationFailure.retryable(
    `${what} failed (${run.signal ?? run.code}): ${msg}`,
    TRAINER_FAILURE.CRASH,
  );
}

/**
 * Heartbeats on trainer events only (never on a timer), so a hung trainer stops the heartbeat.
 * Its stall timeout is the activity's heartbeat timeout (`training.heartbeatTimeoutSeconds`):
 * a little before it, the trainer is stopped and the attempt fails, retryable, with a message
 * saying so (the retry resumes from the newest checkpoint).
 */
async function supervised(
  args: string[],
  what: string,
  onEvent?: (e: TrainerEvent) => void,
  lease?: DeviceLease,
): Promise<TrainerRun> {
  const ctx = Context.current();
  let last = { ...(ctx.info.heartbeatDetails as Record<string, unknown> | undefined) };
  const beat = () => ctx.heartbeat(last);
  const hb = ctx.info.heartbeatTimeoutMs;
  beat();
  const run = await runTrainer(args, {
    env: lease?.env,
    launcher: launcherArgs(lease?.ids.length ?? 1),
    signal: ctx.cancellationSignal,
    stallTimeoutMs: hb ? Math.max(1_000, Math.round(hb * 0.9)) : undefined,
    onEvent: (e) => {
      if (e.event === 'checkpoint') last = { ...last, checkpoint: e.path };
      if (e.event === 'progress') last = { ...last, step: e.step, total: e.total_steps, loss: e.loss };
      onEvent?.(e);
      beat();
    },
  });
  if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`${what} cancelled; trainer stopped`);
  if (run.code !== 0 || run.stalledMs !== undefined) throw failureOf(run, what);
  return run;
}

/**
 * Runs `fn` on `n` devices leased from the worker's pool (`training/devices.ts`), heartbeating
 * (with the last details, so a checkpoint is not forgotten) while it waits for them.
 */
async function onWorkerDevices<T>(
  pool: DevicePool,
  n: number,
  fn: (lease: DeviceLease) => Promise<T>,
): Promise<T> {
  const ctx = Context.current();
  const beat = () => ctx.heartbeat(ctx.info.heartbeatDetails);
  return onDevices(pool, n, { beat, signal: ctx.cancellationSignal }, fn).catch((e: unknown) => {
    if (e instanceof DeviceRequestError)
      throw ApplicationFailure.nonRetryable(e.message, TRAINER_FAILURE.CONFIG);
    throw e;
  });
}

export function createTrainActivities(deps: {
  db: Db;
  /** The worker's devices: one trainer process per device. Default: one CPU device. */
  devices?: DevicePool;
}) {
  const { db } = deps;
  const devices = deps.devices ?? createDevicePool([]);
  const saveModel = async (i: FineTuneInput, status: string, summary: object) => {
    const row = {
      runId: i.runId,
      name: i.name,
      path: i.outDir,
      init: i.init ?? (i.tiny ? 'tiny' : ''),
      status,
      summary,
    };
    await db
      .insert(models)
      .values(row)
      .onConflictDoUpdate({ target: [models.runId, models.name], set: { ...row, updatedAt: sql`now()` } });
  };

  return {
    async fineTune(input: FineTuneInput): Promise<FineTuneResult> {
      const resumedFrom = (Context.current().info.heartbeatDetails as { checkpoint?: string } | undefined)
        ?.checkpoint;
      const args = ['train', '--train', input.trainFile, '--out', input.outDir];
      if (input.init) args.push('--init', input.init);
      else if (input.tiny) args.push('--tiny');
      args.push(...trainerFlags(input.hyper));
      await saveModel(input, 'training', {});
      const curve: Array<{ step: number; loss: number; lr?: number }> = [];
      let startStep = 0;
      const onEvent = (e: TrainerEvent) => {
        // > 0 when the trainer resumed from a checkpoint of an interrupted attempt.
        if (e.event === 'start' && typeof e.step === 'number') startStep = e.step;
        if (e.event === 'progress' && typeof e.step === 'number' && typeof e.loss === 'number')
          curve.push({ step: e.step, loss: e.loss, lr: e.learning_rate });
      };
      const run = await onWorkerDevices(devices, input.devices ?? 1, (lease) =>
        supervised(args, `training ${input.name}`, onEvent, lease),
      ).catch(async (e: unknown) => {
        await saveModel(input, 'failed', { error: (e as Error).message, curve });
        throw e;
      });
      const done = run.events.find((e) => e.event === 'done');
      const steps = curve[curve.length - 1]?.step ?? 0;
      await saveModel(input, 'trained', {
        steps,
        trainLoss: done?.train_loss,
        curve,
        hyper: input.hyper,
        resumedFrom,
        startStep,
      });
      return { name: input.name, path: input.outDir, steps, trainLoss: done?.train_loss, resumedFrom };
    },

    async predictStates(input: PredictInput): Promise<string> {
      const args = ['predict', '--model', input.modelDir, '--input', input.inputFile, '--out', input.outFile];
      await onWorkerDevices(devices, 1, (lease) =>
        supervised(
          [...args, ...trainerFlags(input.hyper)],
          `prediction with ${input.model}`,
          undefined,
          lease,
        ),
      );
      return input.outFile;
    },
  };
}
