/**
 * Crash-resume with real processes: the worker is the `dst-synth worker` CLI, runs are
 * started and followed with the CLI, the Temporal dev server keeps its SQLite file, and
 * Postgres is the embedded server. Workers are SIGKILLed; Temporal and Postgres restart.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb, type DbHandle } from '../../db/client';
import { runMigrations } from '../../db/migrate';
import { freePort } from '../../infra/ports';
import { startEmbeddedPostgres, type RunningPostgres } from '../../infra/postgres';
import { startTemporalDevServer, type RunningDevServer } from '../../infra/temporal';
import { spawnCli, type CliProcess } from '../helpers/cli';
import { ok200, runFacts } from '../helpers/generation';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { scriptedRoles } from '../helpers/scripted-roles';

const KEY = 'sk-crash-test';
let server: LlmServer;
let temporal: RunningDevServer;
let pg: RunningPostgres;
let db: DbHandle;
let temporalDir: string;
let pgDir: string;
let temporalPort: number;
let pgPort: number;
const workers = new Set<CliProcess>();

async function startTemporal() {
  temporal = await startTemporalDevServer({ dataDir: temporalDir, port: temporalPort, headless: true });
}
async function startPg() {
  pg = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
}

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  TEMPORAL_ADDRESS: temporal.address,
  DATABASE_URL: pg.url,
  OPENAI_API_KEY: KEY,
  OPENAI_BASE_URL: server.url,
});

async function startWorker(): Promise<CliProcess> {
  const w = spawnCli(['worker', '--concurrency', '8'], env());
  workers.add(w);
  void w.exited.then(() => workers.delete(w));
  await w.waitFor(/worker serving/);
  return w;
}

async function cli(args: string[]): Promise<string> {
  const c = spawnCli(args, env());
  const code = await c.exited;
  if (code !== 0) throw new Error(`dst-synth ${args.join(' ')} exited ${code}:\n${c.output()}`);
  return c.output();
}

beforeAll(async () => {
  temporalDir = mkdtempSync(path.join(os.tmpdir(), 'dst-crash-temporal-'));
  pgDir = mkdtempSync(path.join(os.tmpdir(), 'dst-crash-pg-'));
  [temporalPort, pgPort] = [await freePort(), await freePort()];
  server = await startLlmServer({ responder: scriptedRoles(), apiKey: KEY });
  await Promise.all([startTemporal(), startPg()]);
  db = openDb(pg.url);
  await runMigrations(db.pool);
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await db?.close();
  await temporal?.stop();
  await pg?.stop();
  await server?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitDone(runId: string, atLeast: number, timeoutMs = 240_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const done = (await runFacts(db.db, runId).catch(() => ({ done: -1 }))).done;
    if (done >= atLeast) return done;
    if (Date.now() > end) throw new Error(`run ${runId}: ${done} done, waited for ${atLeast}`);
    await sleep(250);
  }
}

test('SIGKILL the worker 3 times during 200 dialogues: exactly 200 done, no duplicate, no call lost', async () => {
  server.reset();
  server.delay(3, { times: 1_000_000 });
  const runId = 'gen-sigkill';
  let worker = await startWorker();
  const out = await cli([
    'generate',
    '--goals',
    '200',
    '--model',
    'test-model',
    '--run-id',
    runId,
    '--concurrency',
    '8',
    '--batch-size',
    '25',
    '--paraphrases',
    '1',
    '--heartbeat-timeout',
    '4',
    '--seed',
    '11',
  ]);
  expect(out).toMatch(/about 5,600 LLM calls/);
  expect(out).toMatch(new RegExp(`run ${runId} started`));
  const kills = [30, 90, 150];
  for (const at of kills) {
    await waitDone(runId, at + Math.floor(Math.random() * 10));
    await sleep(Math.random() * 300);
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = await startWorker();
  }
  await waitDone(runId, 200);
  const status = await cli(['status', runId]);
  await sleep(500);
  const facts = await runFacts(db.db, runId);
  expect(facts).toMatchObject({ goals: 200, done: 200, sessionsLeft: 0 });
  expect(facts.dialogues).toBe(facts.accepted);
  expect(facts.distinctDialogues).toBe(facts.dialogues);
  // Only calls of turns still in progress at a kill (8 dialogues in flight, at most 3 calls
  // per user turn with paraphrasing) can have been answered and lost; every call of a
  // completed turn is recorded exactly once.
  const lost = ok200(server) - facts.recordedCalls;
  expect(lost).toBeGreaterThanOrEqual(0);
  expect(lost).toBeLessThanOrEqual(kills.length * 8 * 3);
  expect(status).toMatch(/done 200\/200|done 200/);
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 480_000);

test('restart the Temporal dev server (same SQLite file) and Postgres mid-run: the run completes', async () => {
  server.reset();
  server.delay(3, { times: 1_000_000 });
  const runId = 'gen-restarts';
  const worker = await startWorker();
  await cli([
    'generate',
    '--goals',
    '60',
    '--model',
    'test-model',
    '--run-id',
    runId,
    '--concurrency',
    '6',
    '--batch-size',
    '20',
    '--paraphrases',
    '0',
    '--heartbeat-timeout',
    '4',
    '--seed',
    '12',
  ]);
  await waitDone(runId, 15);
  await temporal.stop();
  await sleep(1000);
  await startTemporal();
  await waitDone(runId, 30);
  await db.close();
  await pg.stop();
  await sleep(1000);
  await startPg();
  db = openDb(pg.url);
  await waitDone(runId, 60);
  const facts = await runFacts(db.db, runId);
  expect(facts).toMatchObject({ goals: 60, done: 60 });
  expect(facts.distinctDialogues).toBe(facts.dialogues);
  const status = await cli(['status', runId]);
  expect(status).toMatch(/completed|running/);
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 480_000);
