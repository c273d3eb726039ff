/**
 * Live progress as the console reads it, on a real Temporal dev server, a real Postgres and
 * the loopback LLM server: dialogues in flight are counted, not batch sizes.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BatchInput } from '../../activities/generate-types';
import {
  generationStatus,
  parseGenerationConfig,
  startGeneration,
  type LiveProgress,
} from '../../client/generation';
import type { LlmServer } from '../helpers/llm-server';
import { startTestServices, type TestServices } from '../helpers/services';

let env: TestWorkflowEnvironment;
let server: LlmServer;
let services: TestServices;

const KEY = 'sk-progress-test';

beforeAll(async () => {
  services = await startTestServices({ apiKey: KEY, workers: true });
  ({ env, server } = services);
}, 120_000);

afterAll(() => services?.stop());

/** Starts a generation run of `goals` against the loopback LLM (40 ms a call). */
async function startRun(
  runId: string,
  opts: { goals: number; seed: number; batchSize: number; concurrency: number },
) {
  server.reset();
  server.delay(40, { times: 100_000 });
  const config = parseGenerationConfig({
    ...opts,
    llm: { provider: 'openai', model: 'test-model' },
    heartbeatTimeoutSeconds: 10,
    paraphrases: 0,
  });
  return startGeneration(env.client, runId, config);
}

/**
 * Reads the run's live progress every 100 ms, as the console does, until `visit` returns true,
 * the run closes, or `polls` reads were made. Before its first workflow task the run answers no
 * query yet: those reads are skipped.
 */
async function watch(runId: string, polls: number, visit: (p: LiveProgress) => boolean): Promise<void> {
  for (let i = 0; i < polls; i++) {
    const s = await generationStatus(env.client, runId).catch(() => undefined);
    if (s && !s.progress) return;
    if (s?.progress && visit(s.progress)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('in flight: the dialogues running (at most the concurrency), not the sizes of the running batches', async () => {
  const runId = 'gen-progress-inflight';
  const handle = await startRun(runId, { goals: 20, seed: 5, batchSize: 10, concurrency: 2 });
  const seen: number[] = [];
  let batches = 0;
  await watch(runId, 200, (p) => {
    batches = Math.max(batches, p.batches.length);
    if (p.inFlight > 0) seen.push(p.inFlight);
    return seen.length >= 5;
  });
  expect(seen.length).toBeGreaterThan(0);
  // Two batches of 10 run at once; before, `inFlight` said 20.
  expect(batches).toBe(2);
  expect(Math.max(...seen)).toBeLessThanOrEqual(2);
  await handle.result();
}, 180_000);

test('a lone batch runs the whole concurrency, not half of it', async () => {
  const runId = 'gen-progress-lone';
  const handle = await startRun(runId, { goals: 8, seed: 5, batchSize: 10, concurrency: 4 });
  let most = 0;
  await watch(runId, 200, (p) => {
    most = Math.max(most, p.inFlight);
    return most >= 4;
  });
  await handle.result();
  // One batch of 8 goals: it starts with the run's 4, not 2 (and more than 2 ran at once).
  const history = await env.client.workflow.getHandle(`${runId}-batch-0`).fetchHistory();
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  expect(defaultPayloadConverter.fromPayload<BatchInput>(input).concurrency).toBe(4);
  expect(most).toBeGreaterThan(2);
}, 180_000);

test('goals done count while their batch still runs, not only when it ends', async () => {
  const runId = 'gen-progress-done';
  const handle = await startRun(runId, { goals: 6, seed: 6, batchSize: 10, concurrency: 1 });
  const whileRunning: number[] = [];
  await watch(runId, 600, (p) => {
    // One batch of 6: while it is listed as running, the parent itself has counted nothing.
    if (p.batches.length === 1) whileRunning.push(p.done);
    return false;
  });
  const totals = await handle.result();
  expect(totals.done).toBe(6);
  expect(Math.max(...whileRunning)).toBeGreaterThan(0);
  expect(Math.max(...whileRunning)).toBeLessThanOrEqual(6);
  // Never more than at the end, and never going back.
  expect(whileRunning).toEqual([...whileRunning].sort((a, b) => a - b));
}, 180_000);
