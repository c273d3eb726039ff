import type { Command } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import path from 'node:path';
import { z } from 'zod';
import { openDb } from '../../db/client';
import { runMigrations } from '../../db/migrate';
import { resolveDatabaseUrl, resolveTemporalAddress } from '../../infra/discovery';
import { loadSettings } from '../../infra/settings';
import { createGenerationResources } from '../../activities/generate-resources';
import { createDevicePool, detectDevices } from '../../training/devices';
import { createWorkers } from '../../worker';
import { installServerLogging } from '../logging';
import { parseOptions } from '../options';
import { TASK_QUEUE } from '../../workflows/task-queues';

const WorkerOptions = z.object({
  queues: z
    .string()
    .default(Object.values(TASK_QUEUE).join(','))
    .transform((s) => s.split(',').map((q) => q.trim()))
    .pipe(z.array(z.enum([TASK_QUEUE.LLM, TASK_QUEUE.DATA, TASK_QUEUE.GPU])).min(1)),
  concurrency: z.coerce.number().int().positive().default(10),
  rpm: z.coerce.number().positive().optional(),
  tpm: z.coerce.number().positive().optional(),
  queueRate: z.coerce.number().positive().optional(),
  gpus: z.coerce.number().int().min(0).max(64).optional(),
});

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Run a worker against TEMPORAL_ADDRESS and DATABASE_URL (run many, on many machines)')
    .option('--queues <list>', 'comma-separated task queues: llm,data,gpu', 'llm,data,gpu')
    .option('--concurrency <n>', 'concurrent activities per queue (dialogues in flight on llm)', '10')
    .option('--rpm <n>', "this worker's LLM budget: requests per minute (env DST_SYNTH_WORKER_RPM)")
    .option('--tpm <n>', "this worker's LLM budget: tokens per minute (env DST_SYNTH_WORKER_TPM)")
    .option('--queue-rate <n>', 'dialogues started per second across all workers of the llm queue')
    .option(
      '--gpus <n>',
      'gpu queue: trainings at once, one per GPU (CUDA_VISIBLE_DEVICES); default: detected (CUDA_VISIBLE_DEVICES, nvidia-smi), none: one on CPU',
    )
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(WorkerOptions, {
        rpm: process.env.DST_SYNTH_WORKER_RPM,
        tpm: process.env.DST_SYNTH_WORKER_TPM,
        ...raw,
      });
      installServerLogging();
      const settings = loadSettings();
      const url = resolveDatabaseUrl(settings);
      const db = openDb(url);
      // A session is saved after every LLM call: one connection per dialogue in flight, so a save
      // never waits (the longer an answer is unsaved, the likelier a crash repeats its call).
      const sessionDb = openDb(url, Math.max(5, opts.concurrency), { asyncCommit: true });
      await runMigrations(db.pool);
      const connection = await NativeConnection.connect({ address: resolveTemporalAddress(settings) });
      const generation = createGenerationResources({ workerBudget: { rpm: opts.rpm, tpm: opts.tpm } });
      // Load the training dialogues (goals, reveal rates) now, while Temporal still waits for a
      // dead worker's heartbeats, not in the first dialogue a restarted worker is handed.
      if (opts.queues.includes(TASK_QUEUE.LLM)) void generation.training().catch(() => undefined);
      const devices = createDevicePool(opts.queues.includes(TASK_QUEUE.GPU) ? detectDevices(opts.gpus) : []);
      const workers = await createWorkers({
        connection,
        namespace: settings.TEMPORAL_NAMESPACE,
        queues: opts.queues,
        maxConcurrentActivities: opts.concurrency,
        llmQueueActivitiesPerSecond: opts.queueRate,
        deps: {
          db: db.db,
          sessionDb: sessionDb.db,
          downloadDir: path.join(settings.DST_SYNTH_DATA_DIR, 'downloads'),
          generation,
          devices,
        },
      });
      const stop = () => workers.forEach((w) => w.shutdown());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const budget = opts.rpm || opts.tpm ? `, budget ${opts.rpm ?? '∞'} rpm / ${opts.tpm ?? '∞'} tpm` : '';
      const gpu = opts.queues.includes(TASK_QUEUE.GPU)
        ? `; gpu: ${devices.size} training(s) at once on ${devices.kind === 'gpu' ? `GPU ${devices.ids.join(',')}` : 'CPU'}`
        : '';
      console.log(
        `worker serving ${opts.queues.join(', ')} (concurrency ${opts.concurrency}${budget}${gpu})`,
      );
      try {
        await Promise.all(workers.map((w) => w.run()));
      } finally {
        await connection.close();
        await db.close();
        await sessionDb.close();
      }
    });
}
