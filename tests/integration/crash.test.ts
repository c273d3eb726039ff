/**
 * Crash-resume with real processes: the worker is the `dst-synth worker` CLI, runs are
 * started and followed with the CLI, the Temporal dev server keeps its SQLite file, and
 * Postgres is the embedded server. Workers are SIGKILLed; Temporal and Postgres restart.
 */
import { spawnCli } from '../helpers/cli';
import { compareGoals, ok200, runFacts } from '../helpers/generation';
import type { LlmServer } from '../helpers/llm-server';
import {
  cliWorkers,
  startProcessServices,
  startScriptedLlmServer,
  type ProcessServices,
} from '../helpers/services';
import { createRng } from '../../simulator/rng';

const KEY = 'sk-crash-test';
let server: LlmServer;
let services: ProcessServices;
const env = () => services.cliEnv({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url });
const workers = cliWorkers(env);
const startWorker = () => workers.start(['--concurrency', '8']);

async function cli(args: string[]): Promise<string> {
  const c = spawnCli(args, env());
  const code = await c.exited;
  if (code !== 0) throw new Error(`dst-synth ${args.join(' ')} exited ${code}:\n${c.output()}`);
  return c.output();
}

beforeAll(async () => {
  server = await startScriptedLlmServer(KEY);
  services = await startProcessServices('dst-crash');
}, 120_000);

afterAll(async () => {
  workers.killAll();
  await services?.stop();
  await server?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitDone(runId: string, atLeast: number, timeoutMs = 240_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const done = (await runFacts(services.db.db, runId).catch(() => ({ done: -1 }))).done;
    if (done >= atLeast) return done;
    if (Date.now() > end) throw new Error(`run ${runId}: ${done} done, waited for ${atLeast}`);
    await sleep(250);
  }
}

/**
 * Kill points, reproducible: `CRASH_SEED=<printed seed>` repeats them (the done count at which
 * each kill happens, and a delay after it).
 */
function killPlan(seed: number, kills: number, goals: number) {
  const rng = createRng(seed);
  const span = Math.floor((goals - 20) / kills);
  return Array.from({ length: kills }, (_, i) => ({
    atDone: 10 + i * span + rng.int(span - 10),
    delayMs: rng.int(300),
  }));
}

/** Polls `status` until the run's workflow has closed (the database says done a little earlier). */
async function finalStatus(runId: string): Promise<string> {
  const end = Date.now() + 60_000;
  for (;;) {
    const out = await cli(['status', runId]);
    if (!/: running\n/.test(out) || Date.now() > end) return out;
    await sleep(500);
  }
}

test('SIGKILL the worker 5 times during 200 dialogues: exactly 200 done, per goal the calls the server answered', async () => {
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
  const plan = killPlan(seed, 5, 200);
  console.log(`crash test: CRASH_SEED=${seed} kills at ${JSON.stringify(plan)}`);
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
  for (const k of plan) {
    await waitDone(runId, k.atDone);
    await sleep(k.delayMs);
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = await startWorker();
  }
  await waitDone(runId, 200);
  const status = await finalStatus(runId);
  const facts = await runFacts(services.db.db, runId);
  expect(facts).toMatchObject({ goals: 200, done: 200, sessionsLeft: 0, status: { status: 'completed' } });
  expect(facts.dialogues).toBe(facts.accepted);
  // Per goal, against the server's log: the attempts it served are the ones recorded, and at
  // most one answered call per kill is missing from the goal's sums (the call in flight: the
  // session is saved after every call).
  const repeated = await compareGoals(services.db.db, runId, server, plan.length);
  const lost = [...repeated.values()].reduce((a, b) => a + b, 0);
  // Everything answered is a goal's call, but for the one pre-flight call of `generate`.
  expect(ok200(server) - facts.recordedCalls - lost).toBe(1);
  expect(lost).toBeLessThanOrEqual(plan.length * 8);
  console.log(`crash test: ${lost} of ${ok200(server)} answered calls repeated`);
  expect(status).toContain(`run ${runId}: completed\n`);
  expect(status).toContain(
    `done 200/200: accepted ${facts.accepted}, rejected ${200 - facts.accepted} (acceptance `,
  );
  expect(status).toContain(`LLM calls ${facts.recordedCalls},`);
  // Cancelling a run that already ended is not an error: it says so and changes nothing.
  expect(await cli(['cancel', runId])).toContain(`run ${runId} is already completed: nothing to cancel`);
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 600_000);

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
  await services.stopTemporal();
  await sleep(1000);
  await services.startTemporal();
  await waitDone(runId, 30);
  await services.stopPostgres();
  await sleep(1000);
  await services.startPostgres();
  await waitDone(runId, 60);
  const status = await finalStatus(runId);
  const facts = await runFacts(services.db.db, runId);
  expect(facts).toMatchObject({ goals: 60, done: 60, sessionsLeft: 0, status: { status: 'completed' } });
  expect(facts.dialogues).toBe(facts.accepted);
  // A restart may time out heartbeats (a zombie and its retry overlap for a few calls), so only
  // a loose bound on repeated calls per goal; attempts and dialogues must still match exactly.
  await compareGoals(services.db.db, runId, server, 20);
  expect(status).toContain(`run ${runId}: completed\n`);
  expect(status).toContain(`done 60/60: accepted ${facts.accepted},`);
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 480_000);
