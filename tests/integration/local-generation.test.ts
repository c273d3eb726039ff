/**
 * A durable generation run on the local provider: real `dst-synth worker` processes load the
 * small catalogued GGUF (SmolLM2-135M, for speed: plumbing, not data quality), two dialogues
 * run at once on the one model (one attempt each), and the worker is SIGKILLed mid-dialogue. The run must finish
 * every goal exactly once, resuming from the saved sessions.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { openDb, type DbHandle } from '../../db/client';
import { runMigrations } from '../../db/migrate';
import { freePort } from '../../infra/ports';
import { startEmbeddedPostgres, type RunningPostgres } from '../../infra/postgres';
import { startTemporalDevServer, type RunningDevServer } from '../../infra/temporal';
import { LOCAL_MODEL, resolveLocalModel } from '../../llm/local-model';
import { spawnCli, type CliProcess } from '../helpers/cli';
import { runFacts } from '../helpers/generation';

let temporal: RunningDevServer;
let pg: RunningPostgres;
let db: DbHandle;
const workers = new Set<CliProcess>();

const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: pg.url };
  delete e.OPENAI_API_KEY;
  return e;
};

async function startWorker(): Promise<CliProcess> {
  const w = spawnCli(['worker', '--queues', 'llm,data', '--concurrency', '2'], env());
  workers.add(w);
  void w.exited.then(() => workers.delete(w));
  await w.waitFor(/worker serving/);
  return w;
}

beforeAll(async () => {
  resolveLocalModel(LOCAL_MODEL.SMOLLM2_135M); // the set-up script must have assembled it
  const [tPort, pPort] = [await freePort(), await freePort()];
  [temporal, pg] = await Promise.all([
    startTemporalDevServer({
      dataDir: mkdtempSync(path.join(os.tmpdir(), 'dst-local-t-')),
      port: tPort,
      headless: true,
    }),
    startEmbeddedPostgres({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'dst-local-pg-')), port: pPort }),
  ]);
  db = openDb(pg.url);
  await runMigrations(db.pool);
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await db?.close();
  await temporal?.stop();
  await pg?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(200);
  }
}

test('local model: SIGKILL mid-dialogue, the run resumes and finishes every goal once', async () => {
  const runId = 'gen-local-kill';
  let worker = await startWorker();
  const start = spawnCli(
    [
      'generate',
      '--goals',
      '2',
      '--max-attempts',
      '1',
      '--provider',
      'local',
      '--model',
      LOCAL_MODEL.SMOLLM2_135M,
      '--run-id',
      runId,
      '--concurrency',
      '2',
      '--batch-size',
      '1', // two batches of one: two dialogues at once on the one model
      '--paraphrases',
      '0',
      '--heartbeat-timeout',
      '10',
      '--seed',
      '5',
    ],
    env(),
  );
  expect(await start.exited).toBe(0);
  expect(start.output()).toMatch(/with local:smollm2-135m-instruct/);
  // Mid-dialogue: a session saved after two LLM calls.
  const steps = await until(
    () => `a saved session; worker output:\n${worker.output().slice(-3000)}`,
    async () => {
      const r = await db.db.execute<{ steps: number }>(
        sql`select max(steps) as steps from generation_sessions where run_id = ${runId}`,
      );
      const n = Number(r.rows[0]?.steps ?? 0);
      return n >= 2 ? n : undefined;
    },
    480_000,
  );
  expect(steps).toBeGreaterThanOrEqual(2);
  worker.child.kill('SIGKILL');
  await worker.exited;
  worker = await startWorker();
  await until(
    () => `every goal done; worker output:\n${worker.output().slice(-3000)}`,
    async () => ((await runFacts(db.db, runId)).done === 2 ? true : undefined),
    600_000,
  );
  await sleep(1000);
  const facts = await runFacts(db.db, runId);
  expect(facts).toMatchObject({ goals: 2, done: 2, sessionsLeft: 0 });
  expect(facts.dialogues).toBe(facts.accepted);
  // Per-role accounting is stored with every attempt.
  const roles = await db.db.execute<{ role_usage: Record<string, { calls: number; ms: number }> }>(
    sql`select role_usage from generation_attempts where run_id = ${runId}`,
  );
  expect(roles.rows.length).toBe(2); // one attempt per goal
  for (const r of roles.rows) {
    expect(r.role_usage.user?.calls).toBeGreaterThan(0);
    expect(r.role_usage.user?.ms).toBeGreaterThan(0);
  }
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 900_000);
