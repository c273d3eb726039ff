/**
 * Live progress as the console reads it, on a real Temporal dev server, a real Postgres and
 * the loopback LLM server: dialogues in flight are counted, not batch sizes.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BatchInput } from '../../activities/generate-types';
import { generationStatus, parseGenerationConfig, startGeneration } from '../../client/generation';
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

test('in flight: the dialogues running (at most the concurrency), not the sizes of the running batches', async () => {
  server.delay(40, { times: 100_000 });
  const runId = 'gen-progress-inflight';
  const config = parseGenerationConfig({
    goals: 20,
    seed: 5,
    llm: { provider: 'openai', model: 'test-model' },
    batchSize: 10,
    concurrency: 2,
    heartbeatTimeoutSeconds: 10,
    paraphrases: 0,
  });
  const handle = await startGeneration(env.client, runId, config);
  const seen: number[] = [];
  let batches = 0;
  for (let i = 0; i < 200 && seen.length < 5; i++) {
    // Until its first workflow task has run, the run answers no query yet.
    const s = await generationStatus(env.client, runId).catch(() => undefined);
    if (s && !s.progress) break;
    if (!s?.progress) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    batches = Math.max(batches, s.progress.batches.length);
    if (s.progress.inFlight > 0) seen.push(s.progress.inFlight);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(seen.length).toBeGreaterThan(0);
  // Two batches of 10 run at once; before, `inFlight` said 20.
  expect(batches).toBe(2);
  expect(Math.max(...seen)).toBeLessThanOrEqual(2);
  await handle.result();
}, 180_000);

test('a lone batch runs the whole concurrency, not half of it', async () => {
  server.reset();
  server.delay(40, { times: 100_000 });
  const runId = 'gen-progress-lone';
  const config = parseGenerationConfig({
    goals: 8,
    seed: 5,
    llm: { provider: 'openai', model: 'test-model' },
    batchSize: 10,
    concurrency: 4,
    heartbeatTimeoutSeconds: 10,
    paraphrases: 0,
  });
  const handle = await startGeneration(env.client, runId, config);
  let most = 0;
  for (let i = 0; i < 200 && most < 4; i++) {
    const s = await generationStatus(env.client, runId).catch(() => undefined);
    if (s && !s.progress) break;
    most = Math.max(most, s?.progress?.inFlight ?? 0);
    await new Promise((r) => setTimeout(r, 100));
  }
  await handle.result();
  // One batch of 8 goals: it starts with the run's 4, not 2 (and more than 2 ran at once).
  const history = await env.client.workflow.getHandle(`${runId}-batch-0`).fetchHistory();
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  expect(defaultPayloadConverter.fromPayload<BatchInput>(input).concurrency).toBe(4);
  expect(most).toBeGreaterThan(2);
}, 180_000);

test('goals done count while their batch still runs, not only when it ends', async () => {
  server.reset();
  server.delay(40, { times: 100_000 });
  const runId = 'gen-progress-done';
  const config = parseGenerationConfig({
    goals: 6,
    seed: 6,
    llm: { provider: 'openai', model: 'test-model' },
    batchSize: 10,
    concurrency: 1,
    heartbeatTimeoutSeconds: 10,
    paraphrases: 0,
  });
  const handle = await startGeneration(env.client, runId, config);
  const whileRunning: number[] = [];
  for (let i = 0; i < 600; i++) {
    const s = await generationStatus(env.client, runId).catch(() => undefined);
    if (s && !s.progress) break;
    const p = s?.progress;
    // One batch of 6: while it is listed as running, the parent itself has counted nothing.
    if (p && p.batches.length === 1) whileRunning.push(p.done);
    await new Promise((r) => setTimeout(r, 100));
  }
  const totals = await handle.result();
  expect(totals.done).toBe(6);
  expect(Math.max(...whileRunning)).toBeGreaterThan(0);
  expect(Math.max(...whileRunning)).toBeLessThanOrEqual(6);
  // Never more than at the end, and never going back.
  expect(whileRunning).toEqual([...whileRunning].sort((a, b) => a - b));
}, 180_000);
