/**
 * One training per device (`training/devices.ts`), without a GPU: the pool's leases, and
 * `fineTune`/`predictStates` run concurrently on a worker's pool with a stand-in trainer (a
 * shell script logging when it ran and which CUDA_VISIBLE_DEVICES it got), writing their model
 * rows to a real (embedded) PostgreSQL.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTrainActivities, TRAINER_FAILURE } from '../../activities/train';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { models, runs as runsTable } from '../../db/schema';
import { createDevicePool, detectDevices, launcherArgs } from '../../training/devices';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-devices-'));
const log = path.join(dir, 'trainer.log');
const python = path.join(dir, 'python.sh');
writeFileSync(
  python,
  `#!/bin/sh
out=""; prev=""
for a in "$@"; do [ "$prev" = "--out" ] && out="$a"; prev="$a"; done
echo "start $(basename "$out") $(date +%s%N) [$CUDA_VISIBLE_DEVICES] $*" >> "$DST_TRAINER_LOG"
echo '{"event":"start","step":0,"total_steps":1}'
echo '{"event":"progress","step":1,"total_steps":1,"loss":1.5}'
sleep 0.6
echo "end $(basename "$out") $(date +%s%N)" >> "$DST_TRAINER_LOG"
echo '{"event":"done","train_loss":1.0}'
`,
);
chmodSync(python, 0o755);

let pg: TestDatabase;
let db: Db;
/** Each test trains under its own run id, so its model rows are its own. */
let runId = '';
let runs = 0;
beforeAll(async () => {
  pg = await startTestDatabase();
  db = pg.handle.db;
});
afterAll(() => pg?.stop());

/** The model rows `fineTune` wrote for the current test's run, by name. */
async function modelRows() {
  const rows = await db.select().from(models).where(eq(models.runId, runId));
  return Object.fromEntries(rows.map((r) => [r.name, r]));
}

const saved = { ...process.env };
beforeEach(async () => {
  runId = `r${++runs}`;
  await db.insert(runsTable).values({ id: runId, kind: 'pipeline' });
  writeFileSync(log, '');
  Object.assign(process.env, { DST_SYNTH_PYTHON: python, DST_TRAINER_LOG: log });
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

interface Span {
  name: string;
  start: number;
  end: number;
  cuda: string;
  argv: string;
}
function spans(): Span[] {
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  return lines
    .filter((l) => l.startsWith('start '))
    .map((l) => {
      const [, name, t, cuda, ...argv] = l.split(' ');
      const end = lines.find((e) => e.startsWith(`end ${name} `))!.split(' ')[2]!;
      return {
        name: name!,
        start: Number(t) / 1e6,
        end: Number(end) / 1e6,
        cuda: cuda!,
        argv: argv.join(' '),
      };
    });
}
/** Most trainer processes alive at one moment. */
function maxOverlap(s: Span[]): number {
  return Math.max(...s.map((a) => s.filter((b) => b.start <= a.start && a.start < b.end).length));
}

function trainings(devices: ReturnType<typeof createDevicePool>, names: string[], n = 1) {
  const { fineTune } = createTrainActivities({ db, devices });
  return Promise.all(
    names.map((name) =>
      new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }).run(fineTune, {
        runId,
        name,
        trainFile: '/x',
        outDir: path.join(dir, name),
        tiny: true,
        hyper: {},
        devices: n,
      }),
    ),
  );
}

test('one device: trainings never overlap', async () => {
  const pool = createDevicePool(['0']);
  const { predictStates } = createTrainActivities({ db, devices: pool });
  await Promise.all([
    trainings(pool, ['a', 'b', 'c']),
    new MockActivityEnvironment().run(predictStates, {
      runId,
      model: 'p',
      modelDir: '/m',
      inputFile: '/in',
      outFile: path.join(dir, 'p/preds.jsonl'),
      hyper: { out: path.join(dir, 'p') },
    }),
  ]);
  const s = spans();
  expect(s).toHaveLength(4);
  expect(maxOverlap(s)).toBe(1);
  expect(new Set(s.map((x) => x.cuda))).toEqual(new Set(['[0]']));
  expect(pool.free()).toBe(1);
  // Each training's row, as the trainer reported it (a prediction writes none).
  const rows = await modelRows();
  expect(Object.keys(rows).sort()).toEqual(['a', 'b', 'c']);
  expect(rows.a).toMatchObject({
    status: 'trained',
    path: path.join(dir, 'a'),
    init: 'tiny',
    summary: { steps: 1, trainLoss: 1, curve: [{ step: 1, loss: 1.5 }], startStep: 0 },
  });
}, 30_000);

test('two devices: two trainings at once, each on its own GPU', async () => {
  const pool = createDevicePool(['0', '1']);
  await trainings(pool, ['a', 'b', 'c', 'd']);
  const s = spans();
  expect(maxOverlap(s)).toBe(2);
  // The two that started first ran side by side on different devices.
  const [x, y] = [...s].sort((p, q) => p.start - q.start);
  expect(y!.start).toBeLessThan(x!.end);
  expect(new Set([x!.cuda, y!.cuda])).toEqual(new Set(['[0]', '[1]']));
  expect(pool.free()).toBe(2);
}, 30_000);

test('a two-device training takes both GPUs, under torchrun', async () => {
  const pool = createDevicePool(['0', '1']);
  await Promise.all([trainings(pool, ['one']), trainings(pool, ['both'], 2)]);
  const s = spans();
  expect(maxOverlap(s)).toBe(1);
  const both = s.find((x) => x.name === 'both')!;
  expect(both.cuda).toBe('[0,1]');
  expect(both.argv).toMatch(
    /^-m torch\.distributed\.run --standalone --nproc-per-node 2 -m dst_trainer train /,
  );
  expect(s.find((x) => x.name === 'one')!.argv).toMatch(/^-m dst_trainer train /);
}, 30_000);

test('CPU: one device, CUDA hidden; asking for more devices than the worker has fails for good', async () => {
  const cpu = createDevicePool([]);
  expect(cpu).toMatchObject({ kind: 'cpu', size: 1 });
  await trainings(cpu, ['a', 'b']);
  expect(maxOverlap(spans())).toBe(1);
  expect(spans()[0]!.cuda).toBe('[]');
  const err: unknown = await trainings(cpu, ['big'], 2).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: TRAINER_FAILURE.CONFIG, nonRetryable: true });
  expect((err as Error).message).toMatch(/asks for 2 devices but this worker has 1/);
  // The refused training is recorded as failed, with the reason; the others as trained.
  const rows = await modelRows();
  expect(rows.big).toMatchObject({ status: 'failed', summary: { curve: [] } });
  expect(rows.big!.summary.error).toMatch(/asks for 2 devices/);
  expect([rows.a?.status, rows.b?.status]).toEqual(['trained', 'trained']);
}, 30_000);

test('leases are first come, first served: a waiting 2-device request is not overtaken', async () => {
  const pool = createDevicePool(['0', '1']);
  const a = await pool.acquire(1);
  const order: string[] = [];
  const big = pool.acquire(2).then((l) => (order.push('big'), l));
  const small = pool.acquire(1).then((l) => (order.push('small'), l));
  await new Promise((r) => setTimeout(r, 20));
  expect(order).toEqual([]); // one device is free, but the 2-device request came first
  a.release();
  (await big).release();
  (await small).release();
  expect(order).toEqual(['big', 'small']);
  expect(pool.free()).toBe(2);
});

test('detectDevices: --gpus, CUDA_VISIBLE_DEVICES, else none (nvidia-smi absent here)', () => {
  expect(detectDevices(2, {})).toEqual(['0', '1']);
  expect(detectDevices(1, { CUDA_VISIBLE_DEVICES: '3,5' })).toEqual(['3']);
  expect(detectDevices(undefined, { CUDA_VISIBLE_DEVICES: '3,5' })).toEqual(['3', '5']);
  expect(detectDevices(undefined, { CUDA_VISIBLE_DEVICES: '' })).toEqual([]);
  expect(detectDevices(0, { CUDA_VISIBLE_DEVICES: '0' })).toEqual([]);
  expect(launcherArgs(1)).toEqual([]);
});
