/**
 * Durable generation on a real Temporal dev server, a real Postgres and the loopback LLM
 * server (real HTTP), with the worker in this process.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  cancelGeneration,
  generationStatus,
  parseGenerationConfig,
  pauseGeneration,
  resumeGeneration,
  startGeneration,
} from '../../client/generation';
import { sql } from 'drizzle-orm';
import { ROLE } from '../../simulator/prompts';
import { recordHistory } from '../helpers/histories';
import { compareGoals, ok200, runFacts } from '../helpers/generation';
import type { LlmServer } from '../helpers/llm-server';
import type { TestDatabase } from '../helpers/postgres';
import { scriptedRoles } from '../helpers/scripted-roles';
import { startTestServices, type TestServices } from '../helpers/services';

let env: TestWorkflowEnvironment;
let db: TestDatabase;
let server: LlmServer;
let services: TestServices;

const KEY = 'sk-gen-test';

beforeAll(async () => {
  services = await startTestServices({ apiKey: KEY, workers: true });
  ({ env, db, server } = services);
}, 120_000);

afterAll(() => services?.stop());

const config = (goals: number, extra: object = {}) =>
  parseGenerationConfig({
    goals,
    seed: 3,
    llm: { provider: 'openai', model: 'test-model' },
    batchSize: 10,
    concurrency: 4,
    heartbeatTimeoutSeconds: 5,
    paraphrases: 1,
    ...extra,
  });

test('30 goals through batches: every goal done once, one dialogue per accepted goal, no wasted call', async () => {
  server.reset();
  const runId = 'gen-test-basic';
  const handle = await startGeneration(env.client, runId, config(30));
  const totals = await handle.result();
  const facts = await runFacts(db.handle.db, runId);
  expect(totals.done).toBe(30);
  expect(facts).toMatchObject({ goals: 30, done: 30, sessionsLeft: 0, status: { status: 'completed' } });
  expect(facts.dialogues).toBe(facts.accepted);
  // Per goal against the server's log: the attempts served are the ones recorded, no call repeated.
  expect((await compareGoals(db.handle.db, runId, server, 0)).size).toBe(0);
  expect(totals.accepted).toBe(facts.accepted);
  expect(facts.accepted).toBeGreaterThanOrEqual(28);
  // Every call the server answered is accounted to a dialogue attempt: none repeated or lost.
  expect(facts.recordedCalls).toBe(ok200(server));
  expect(totals.calls).toBe(facts.recordedCalls);
  const status = await generationStatus(env.client, runId);
  expect(status.status).toBe('completed');
  await recordHistory(handle, 'generation-parent');
  await recordHistory(env.client.workflow.getHandle(`${runId}-batch-0`), 'generation-batch');
}, 180_000);

test('a 429 storm with Retry-After slows the run down; it completes with nothing repeated', async () => {
  server.reset();
  server.fail429({ retryAfterSeconds: 1, times: 6 });
  const runId = 'gen-test-429';
  const t0 = Date.now();
  const totals = await (await startGeneration(env.client, runId, config(8))).result();
  expect(totals.done).toBe(8);
  expect(server.requests.filter((r) => r.status === 429)).toHaveLength(6);
  expect(Date.now() - t0).toBeGreaterThan(1000);
  const facts = await runFacts(db.handle.db, runId);
  expect(facts.recordedCalls).toBe(ok200(server));
}, 180_000);

test('pause, resume with a new concurrency, cancel (resumable), resume to the end', async () => {
  server.reset();
  server.delay(30, { times: 100_000 });
  const runId = 'gen-test-control';
  const handle = await startGeneration(env.client, runId, config(40));
  await waitFor(async () => (await runFacts(db.handle.db, runId)).done >= 4);
  await pauseGeneration(env.client, runId);
  await waitFor(async () => (await generationStatus(env.client, runId)).progress?.paused === true);
  // In-flight dialogues finish; then nothing moves.
  await sleep(3000);
  const pausedAt = (await runFacts(db.handle.db, runId)).done;
  await sleep(2000);
  expect((await runFacts(db.handle.db, runId)).done).toBe(pausedAt);
  expect(pausedAt).toBeLessThan(40);
  await resumeGeneration(env.client, runId, { concurrency: 2 });
  await waitFor(async () => (await runFacts(db.handle.db, runId)).done > pausedAt);
  expect((await generationStatus(env.client, runId)).progress?.concurrency).toBe(2);
  await cancelGeneration(env.client, runId);
  const partial = await handle.result();
  expect(partial.done).toBeLessThan(40);
  expect((await runFacts(db.handle.db, runId)).status?.status).toBe('cancelled');
  server.clearFaults();
  expect(await resumeGeneration(env.client, runId)).toBe('restarted');
  const totals = await env.client.workflow.getHandle(runId).result();
  expect(totals.done).toBe(40);
  const facts = await runFacts(db.handle.db, runId);
  expect(facts).toMatchObject({ done: 40, sessionsLeft: 0, status: { status: 'completed' } });
  // Per goal against the server's log: the attempts served are the ones recorded, no call repeated.
  expect((await compareGoals(db.handle.db, runId, server, 0)).size).toBe(0);
  expect(facts.recordedCalls).toBe(ok200(server));
}, 240_000);

test('an invalid key mid-run stops the run with a clear error; resumable once fixed', async () => {
  server.reset();
  const runId = 'gen-test-badkey';
  const handle = await startGeneration(env.client, runId, config(20));
  await waitFor(async () => (await runFacts(db.handle.db, runId)).done >= 3);
  server.status(401, {
    error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' },
  });
  await expect(handle.result()).rejects.toThrow();
  const failed = await runFacts(db.handle.db, runId);
  expect(failed.status?.status).toBe('failed');
  expect(failed.status?.error).toMatch(/rejected the API key \(401\): check OPENAI_API_KEY/);
  expect((await generationStatus(env.client, runId)).error).toMatch(/401/);
  server.clearFaults();
  expect(await resumeGeneration(env.client, runId)).toBe('restarted');
  const totals = await env.client.workflow.getHandle(runId).result();
  expect(totals.done).toBe(20);
  expect((await runFacts(db.handle.db, runId)).done).toBe(20);
}, 240_000);

test('a call failing mid-turn (the label after say + paraphrase): the retry repeats no answered call', async () => {
  server.reset();
  const scripted = scriptedRoles();
  let failed = 0;
  // The first labeller call fails (HTTP 500): its turn's user and paraphrase calls were answered.
  server.setResponder((req) => {
    if (req.role === ROLE.LABELLER && ++failed === 1) throw new Error('injected failure');
    return scripted(req);
  });
  try {
    const runId = 'gen-test-midturn';
    const totals = await (await startGeneration(env.client, runId, config(1, { concurrency: 1 }))).result();
    expect(totals.done).toBe(1);
    expect(failed).toBeGreaterThan(1);
    const [row] = await db.handle.db
      .execute<{ calls: number }>(sql`select calls from generation_goals where run_id = ${runId}`)
      .then((r) => r.rows);
    // Every answered call is in the goal's sums exactly once: the retry resumed after the paraphrase.
    expect(Number(row!.calls)).toBe(ok200(server));
  } finally {
    server.setResponder(scriptedRoles());
  }
}, 120_000);

test('an LLM call longer than the heartbeat timeout is not a dead worker: no retry, no repeated call', async () => {
  server.reset();
  server.delay(5_000, { times: 1 });
  const runId = 'gen-test-slowcall';
  const t0 = Date.now();
  const totals = await (
    await startGeneration(env.client, runId, config(1, { concurrency: 1, heartbeatTimeoutSeconds: 2 }))
  ).result();
  expect(Date.now() - t0).toBeGreaterThan(5_000);
  expect(totals.done).toBe(1);
  const facts = await runFacts(db.handle.db, runId);
  expect(facts.recordedCalls).toBe(ok200(server));
  // Every activity ran once: a timed-out one would have been retried (and its slow call repeated).
  const history = await env.client.workflow.getHandle(`${runId}-batch-0`).fetchHistory();
  const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes);
  expect(started.length).toBeGreaterThan(0);
  expect(started.every((e) => e.activityTaskStartedEventAttributes!.attempt === 1)).toBe(true);
}, 120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error('condition not reached in time');
}

test('continue-as-new keeps every history short; totals carry over', async () => {
  server.reset();
  const runId = 'gen-test-can';
  const handle = await startGeneration(
    env.client,
    runId,
    config(12, { batchSize: 2, childrenPerExecution: 2, concurrency: 2 }),
  );
  const totals = await handle.result();
  expect(totals.done).toBe(12);
  const facts = await runFacts(db.handle.db, runId);
  expect(facts).toMatchObject({ done: 12, sessionsLeft: 0 });
  expect(totals.accepted).toBe(facts.accepted);
  expect(totals.calls).toBe(facts.recordedCalls);
  // The latest execution is the third (12 goals / (2 children × 2 goals)).
  const first = await env.client.workflow.getHandle(runId, (await handle.describe()).runId).fetchHistory();
  expect(first.events!.length).toBeLessThan(200);
  const desc = await handle.describe();
  expect(desc.runId).not.toBe(handle.firstExecutionRunId);
  await recordHistory(
    env.client.workflow.getHandle(runId, handle.firstExecutionRunId),
    'generation-parent-continued',
  );
}, 180_000);
