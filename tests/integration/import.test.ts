import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import type { ImportInput } from '../../activities/import-types';
import { multiwozDir } from '../../multiwoz/paths';
import { bundleWorkflows, createWorkers } from '../../worker';
import { evaluateWorkflow } from '../../workflows/evaluate';
import { importDatasetWorkflow, importProgressQuery } from '../../workflows/import';
import { TASK_QUEUE } from '../../workflows/task-queues';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';
import { startTestTemporal } from '../helpers/temporal';
import { recordHistory } from '../helpers/histories';

let env: TestWorkflowEnvironment;
let db: TestDatabase;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  [env, db] = await Promise.all([startTestTemporal(), startTestDatabase()]);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dst-import-'));
  const workers = await createWorkers({
    connection: env.nativeConnection,
    queues: [TASK_QUEUE.DATA],
    deps: { db: db.handle.db, downloadDir: tmp },
    workflowBundle: await bundleWorkflows(),
  });
  worker = workers[0]!;
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await db?.stop();
});

const mw = () => multiwozDir();

async function runImport(input: ImportInput, id: string) {
  return env.client.workflow.execute(importDatasetWorkflow, {
    taskQueue: TASK_QUEUE.DATA,
    workflowId: id,
    args: [input],
  });
}

async function count(dataset: string, split: string) {
  const r = await db.handle.db.execute<{ n: string; turns: string }>(
    sql`select count(*) as n, coalesce(sum(num_user_turns),0) as turns from dialogues where dataset=${dataset} and split=${split}`,
  );
  return { dialogues: Number(r.rows[0]!.n), turns: Number(r.rows[0]!.turns) };
}

test('imports the 2.1 test set idempotently, with a progress query', async () => {
  const input: ImportInput = {
    dataset: 'multiwoz21',
    source: path.join(mw(), '2.1/test.json.zip'),
    split: 'test',
    batchSize: 250,
  };
  const handle = await env.client.workflow.start(importDatasetWorkflow, {
    taskQueue: TASK_QUEUE.DATA,
    workflowId: 'import-21-test-a',
    args: [input],
  });
  const first = await handle.result();
  expect(first).toMatchObject({ phase: 'done', total: 1000, done: 1000, inserted: 1000, skipped: 0 });
  expect(await handle.query(importProgressQuery)).toMatchObject({ phase: 'done', done: 1000 });
  expect(await count('multiwoz21', 'test')).toEqual({ dialogues: 1000, turns: 7372 });

  const second = await runImport(input, 'import-21-test-b');
  expect(second).toMatchObject({ total: 1000, inserted: 0, skipped: 1000 });
  expect(await count('multiwoz21', 'test')).toEqual({ dialogues: 1000, turns: 7372 });

  await recordHistory(handle, 'import-multiwoz21-test');
});

test('the evaluate workflow scores the oracle predictor at JGA 1 on the imported test split', async () => {
  const handle = await env.client.workflow.start(evaluateWorkflow, {
    taskQueue: TASK_QUEUE.DATA,
    workflowId: 'evaluate-oracle-21-test',
    args: [{ model: 'oracle', dataset: 'multiwoz21', split: 'test', conventions: ['trade'] }],
  });
  const [trade] = await handle.result();
  expect(trade).toMatchObject({ convention: 'trade', jga: 1, missingPredictions: 0 });
  expect(trade!.turns).toBeGreaterThan(7000);
  await recordHistory(handle, 'evaluate-oracle');
});

test('imports the 2.1 validation set and the 2.4 dev sample', async () => {
  await runImport(
    { dataset: 'multiwoz21', source: path.join(mw(), '2.1/val.json.zip'), split: 'dev' },
    'import-21-dev',
  );
  expect(await count('multiwoz21', 'dev')).toEqual({ dialogues: 999, turns: expect.any(Number) });
  await runImport(
    { dataset: 'multiwoz24', source: path.join(mw(), '2.4/dev-10pct.icdst.json'), split: 'dev' },
    'import-24-dev',
  );
  expect(await count('multiwoz24', 'dev')).toEqual({ dialogues: 100, turns: 731 });
});

test('a malformed file fails the import without retries, naming the file', async () => {
  const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'dst-bad-')), 'data.json');
  writeFileSync(bad, '{"PMUL0001.json": {"goal": {}, "log": "not a list"}}');
  const err = await runImport({ dataset: 'multiwoz21', source: bad, split: 'test' }, 'import-bad').catch(
    (e) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause?.cause as Error & { type?: string };
  expect(cause.type).toBe('InvalidDataset');
  expect(cause.message).toContain(bad);
  expect(await count('multiwoz21', 'test')).toEqual({ dialogues: 1000, turns: 7372 });
});
