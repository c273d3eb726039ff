/**
 * Training under failure, with the worker as a real `dst-synth worker` process: SIGKILL it
 * during stage-1 training (the trainer dies with it, the retry resumes from the last
 * checkpoint), and cancel a pipeline during training (the trainer process is stopped).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { startPipeline } from '../../client/pipeline';
import { tinyConfig } from '../helpers/pipeline-config';
import type { TestDatabase } from '../helpers/postgres';
import { cliWorkers, startTestServices, type TestServices } from '../helpers/services';

const KEY = 'sk-pipeline-crash';
let env: TestWorkflowEnvironment;
let db: TestDatabase;
let services: TestServices;
const workers = cliWorkers(() => services.cliEnv());

beforeAll(async () => {
  services = await startTestServices({ apiKey: KEY });
  ({ env, db } = services);
}, 120_000);
afterAll(async () => {
  workers.killAll();
  await services?.stop();
});

const startWorker = () => workers.start(['--concurrency', '4']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(250);
  }
}

/** Trainer processes writing under `dir`. */
function trainers(dir: string): number[] {
  try {
    const out = execFileSync('pgrep', ['-f', `dst_trainer train .*${dir}`]).toString();
    return out.split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Steps of the *complete* checkpoints in `dir`. A `checkpoint-N` folder appears when its save
 * starts; `trainer_state.json` is written last. Killing on the folder alone (as this test once
 * did) can hit the first save halfway: the retry then rightly starts from 0.
 */
const completeCheckpoints = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^checkpoint-\d+$/.test(f) && existsSync(path.join(dir, f, 'trainer_state.json')))
        .map((f) => Number(f.slice('checkpoint-'.length)))
    : [];

async function modelRow(runId: string, name: string) {
  const r = await db.handle.db.execute<{ status: string; summary: { startStep?: number } }>(
    sql`select status, summary from models where run_id = ${runId} and name = ${name}`,
  );
  return r.rows[0];
}

test('SIGKILL the worker during stage-1 training: the retry resumes from the last checkpoint', async () => {
  const runId = 'pipe-kill';
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'dst-pipe-kill-'));
  const stage1 = path.join(workDir, 'models/stage1');
  let worker = await startWorker();
  const handle = await startPipeline(
    env.client,
    runId,
    tinyConfig({ 'max-steps': 120, 'save-steps': 4 }, 15),
    workDir,
  );
  await waitFor(() => completeCheckpoints(stage1).length > 0 && trainers(stage1).length > 0);
  worker.child.kill('SIGKILL');
  await worker.exited;
  const seen = Math.max(...completeCheckpoints(stage1));
  // Killed mid-training, not after the final save (then the retry has nothing to resume).
  expect(existsSync(path.join(stage1, 'config.json'))).toBe(false);
  // The trainer notices its parent is gone and stops: no orphan races the retry.
  await waitFor(() => trainers(stage1).length === 0, 30_000);
  worker = await startWorker();
  const result = await handle.result();
  expect(result.models.map((m) => m.name)).toEqual(['baseline', 'stage1', 'stage2']);
  const row = await modelRow(runId, 'stage1');
  expect(row?.status).toBe('trained');
  // From the newest complete checkpoint at the kill, or a later one saved before the trainer stopped.
  expect(row?.summary.startStep).toBeGreaterThanOrEqual(seen);
  expect(seen).toBeGreaterThan(0);
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 900_000);

test('cancelling the pipeline during training stops the trainer process', async () => {
  const runId = 'pipe-cancel';
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'dst-pipe-cancel-'));
  const models = path.join(workDir, 'models');
  const worker = await startWorker();
  const handle = await startPipeline(
    env.client,
    runId,
    tinyConfig({ 'max-steps': 400, 'save-steps': 50 }, 15),
    workDir,
  );
  await waitFor(() => trainers(models).length > 0);
  await sleep(2000);
  await handle.cancel();
  await expect(handle.result()).rejects.toThrow();
  await waitFor(() => trainers(models).length === 0, 60_000);
  const run = await db.handle.db.execute<{ status: string }>(
    sql`select status from runs where id = ${runId}`,
  );
  expect(run.rows[0]?.status).toBe('cancelled');
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 600_000);
