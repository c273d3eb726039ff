/**
 * The trainer child process as the `gpu` activities supervise it, with a stand-in "python"
 * (a shell script) so the behaviour under test is exact: what environment the child gets,
 * what happens when it stops printing progress, and the model row each failure leaves in a
 * real (embedded) PostgreSQL.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTrainActivities, TRAINER_FAILURE } from '../../activities/train';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { models, runs } from '../../db/schema';
import { runTrainer } from '../../training/trainer-process';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-trainer-sup-'));
function fakePython(name: string, body: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

let pg: TestDatabase;
let db: Db;
beforeAll(async () => {
  pg = await startTestDatabase();
  db = pg.handle.db;
  await db.insert(runs).values({ id: 'r', kind: 'pipeline' });
});
afterAll(() => pg?.stop());

/** The model row `fineTune` left for `name` under run `r`. */
async function modelRow(name: string) {
  const [row] = await db
    .select()
    .from(models)
    .where(and(eq(models.runId, 'r'), eq(models.name, name)));
  return row;
}

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

test('the trainer gets only the environment it needs: no API key, no database URL', async () => {
  Object.assign(process.env, {
    OPENAI_API_KEY: 'sk-worker-secret',
    DATABASE_URL: 'postgres://u:pw@db/x',
    CUDA_VISIBLE_DEVICES: '3',
    HF_HOME: '/tmp/hf',
  });
  const python = fakePython(
    'env.sh',
    `printf '{"event":"env","key":"%s","db":"%s","cuda":"%s","hf":"%s","path":"%s","extra":"%s"}\\n' ` +
      `"$OPENAI_API_KEY" "$DATABASE_URL" "$CUDA_VISIBLE_DEVICES" "$HF_HOME" "$PATH" "$EXTRA"`,
  );
  const run = await runTrainer(['train'], { env: { DST_SYNTH_PYTHON: python, EXTRA: 'given' } });
  expect(run.code).toBe(0);
  expect(run.events).toEqual([
    { event: 'env', key: '', db: '', cuda: '3', hf: '/tmp/hf', path: process.env.PATH, extra: 'given' },
  ]);
});

test('a trainer that stops emitting: stopped, and the attempt fails retryable (TrainerStalled)', async () => {
  process.env.DST_SYNTH_PYTHON = fakePython(
    'hang.sh',
    `echo '{"event":"start","step":0,"total_steps":9}'\n` +
      `echo '{"event":"progress","step":1,"total_steps":9,"loss":2.5}'\n` +
      `echo '{"event":"checkpoint","step":1,"path":"/x/checkpoint-1"}'\n` +
      'exec sleep 60',
  );
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 2_000 });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const { fineTune } = createTrainActivities({ db });
  const t0 = Date.now();
  const err: unknown = await env
    .run(fineTune, { runId: 'r', name: 'stalled', trainFile: '/x', outDir: dir, tiny: true, hyper: {} })
    .catch((e: unknown) => e);
  const seconds = (Date.now() - t0) / 1000;
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: TRAINER_FAILURE.STALLED, nonRetryable: false });
  expect((err as Error).message).toMatch(/no trainer progress for 2 s/);
  // Stall timeout = 0.9 × the heartbeat timeout: the attempt fails before Temporal would time it out.
  expect(seconds).toBeGreaterThan(1.5);
  expect(seconds).toBeLessThan(2.0 + 1.5);
  // Heartbeats carry the trainer's progress, and none came after the last event.
  expect(beats[beats.length - 1]).toEqual({ step: 1, total: 9, loss: 2.5, checkpoint: '/x/checkpoint-1' });
  // The row says failed, why, and keeps the curve up to the stall.
  const row = await modelRow('stalled');
  expect(row).toMatchObject({ status: 'failed', init: 'tiny', path: dir });
  expect(row!.summary.error).toMatch(/no trainer progress for 2 s/);
  expect(row!.summary.curve).toEqual([{ step: 1, loss: 2.5 }]);
}, 20_000);

test('a full disk (trainer exit 4) fails the attempt non-retryable with the trainer message (TrainerDiskFull)', async () => {
  const message = 'writing failed, most likely a full disk (0.0 GiB free under /x): unexpected pos';
  process.env.DST_SYNTH_PYTHON = fakePython(
    'full.sh',
    `echo '{"event":"start","step":0,"total_steps":9}'\n` +
      `echo '{"event":"error","kind":"disk","message":"${message}","rank":0}'\nexit 4`,
  );
  const { fineTune } = createTrainActivities({ db });
  const err: unknown = await new MockActivityEnvironment()
    .run(fineTune, { runId: 'r', name: 'disk', trainFile: '/x', outDir: dir, tiny: true, hyper: {} })
    .catch((e: unknown) => e);
  expect(err).toMatchObject({ type: TRAINER_FAILURE.DISK_FULL, nonRetryable: true });
  expect((err as Error).message).toContain(message);
  const row = await modelRow('disk');
  expect(row).toMatchObject({ status: 'failed', summary: { curve: [] } });
  expect(row!.summary.error).toBe(`training disk: ${message}`);
});

test("a training that finishes: its row has the trainer's loss, steps and curve", async () => {
  process.env.DST_SYNTH_PYTHON = fakePython(
    'ok.sh',
    `echo '{"event":"start","step":0,"total_steps":2}'\n` +
      `echo '{"event":"progress","step":1,"total_steps":2,"loss":2.5,"learning_rate":0.001}'\n` +
      `echo '{"event":"progress","step":2,"total_steps":2,"loss":1.25}'\n` +
      `echo '{"event":"done","train_loss":1.75}'`,
  );
  const { fineTune } = createTrainActivities({ db });
  const hyper = { epochs: 1 };
  const got = await new MockActivityEnvironment().run(fineTune, {
    runId: 'r',
    name: 'ok',
    trainFile: '/x',
    outDir: dir,
    init: '/models/base',
    hyper,
  });
  expect(got).toEqual({ name: 'ok', path: dir, steps: 2, trainLoss: 1.75, resumedFrom: undefined });
  const row = await modelRow('ok');
  expect(row).toMatchObject({ status: 'trained', init: '/models/base', path: dir });
  expect(row!.summary).toEqual({
    steps: 2,
    trainLoss: 1.75,
    curve: [
      { step: 1, loss: 2.5, lr: 0.001 },
      { step: 2, loss: 1.25 },
    ],
    hyper,
    startStep: 0,
  });
});
