/**
 * A Temporal server that does not know dst-synth's search attributes (a dev server started
 * without the flags, as a fresh cluster): a worker registers them at start, idempotently, and
 * says in one line what to do when the namespace refuses.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Db } from '../../db/client';
import { freePort } from '../../infra/ports';
import { startTemporalDevServer, type RunningDevServer } from '../../infra/temporal';
import { bundleWorkflows, createWorkers } from '../../worker';
import { ensureSearchAttributes } from '../../worker/search-attributes';
import { SA } from '../../workflows/search-attributes';
import { WORKFLOW_TASK_QUEUE } from '../../workflows/task-queues';

let server: RunningDevServer;
let native: NativeConnection;
let connection: Connection;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-bare-temporal-'));
  server = await startTemporalDevServer({
    dataDir: dir,
    port: await freePort(),
    headless: true,
    searchAttributes: false,
  });
  native = await NativeConnection.connect({ address: server.address });
  connection = await Connection.connect({ address: server.address });
}, 120_000);
afterAll(async () => {
  await connection?.close();
  await native?.close();
  await server?.stop();
});

const startWithAttributes = (client: Client, id: string) =>
  client.workflow.start('generationWorkflow', {
    taskQueue: 'nobody-polls-this',
    workflowId: id,
    args: [],
    typedSearchAttributes: [{ key: SA.RUN_KIND, value: 'generate' }],
  });

test('a worker registers the missing search attributes at start; again changes nothing', async () => {
  const client = new Client({ connection });
  const unknown = Object.keys(
    (await connection.operatorService.listSearchAttributes({ namespace: 'default' })).customAttributes ?? {},
  );
  expect(unknown).not.toContain('DstRunKind');
  const refused = await startWithAttributes(client, 'before').catch((e: Error) => e);
  expect(String((refused as Error & { cause?: Error }).cause)).toMatch(/DstRunKind/);

  const logs: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
  try {
    const workers = await createWorkers({
      connection: native,
      queues: [WORKFLOW_TASK_QUEUE],
      deps: { db: {} as Db, downloadDir: os.tmpdir() },
      workflowBundle: await bundleWorkflows(),
    });
    const running = Promise.all(workers.map((w) => w.run()));
    workers.forEach((w) => w.shutdown());
    await running;
  } finally {
    log.mockRestore();
  }
  expect(logs).toContain(
    'registered search attributes DstRunKind, DstRunStatus, DstDone, DstTotal on namespace default',
  );

  const have = (await connection.operatorService.listSearchAttributes({ namespace: 'default' }))
    .customAttributes;
  expect(Object.keys(have ?? {})).toEqual(
    expect.arrayContaining(['DstRunKind', 'DstRunStatus', 'DstDone', 'DstTotal']),
  );
  expect(await ensureSearchAttributes(native, 'default')).toEqual({ ok: true, added: [] });
  const handle = await startWithAttributes(client, 'after');
  await handle.terminate('test');
}, 180_000);

test('a namespace that refuses: one line saying what to run, no throw', async () => {
  const r = await ensureSearchAttributes(native, 'no-such-namespace');
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.message).toMatch(
    /^could not register the search attributes DstRunKind, DstRunStatus, DstDone, DstTotal on namespace "no-such-namespace" \(.+\); runs will fail until an operator adds them: temporal operator search-attribute create --namespace no-such-namespace --name DstRunKind --type Keyword/,
  );
  expect(r.message).not.toContain('\n');
});
