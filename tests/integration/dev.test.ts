import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { openDb } from '../../db/client';
import { resolveDatabaseUrl } from '../../infra/discovery';
import { freePort } from '../../infra/ports';
import { loadSettings } from '../../infra/settings';
import { multiwozDir } from '../../multiwoz/paths';
import { importDatasetWorkflow } from '../../workflows/import';
import { WORKFLOW_TASK_QUEUE } from '../../workflows/task-queues';
import { embeddedEnv, spawnCli } from '../helpers/cli';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'dst-dev-'));
let port: number;

beforeAll(async () => {
  port = await freePort();
});

async function startDev() {
  const dev = spawnCli(['dev', '--headless', '--port', String(port)], embeddedEnv(dataDir));
  await dev.waitFor(/worker running on queues/);
  return dev;
}

async function stopDev(dev: ReturnType<typeof spawnCli>) {
  dev.child.kill('SIGINT');
  expect(await dev.exited).toBe(0);
  expect(dev.output()).toMatch(/stopped/);
}

async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

async function countDialogues(): Promise<number> {
  const db = openDb(resolveDatabaseUrl(loadSettings({ DST_SYNTH_DATA_DIR: dataDir })));
  try {
    const r = await db.db.execute<{ n: string }>(sql`select count(*) as n from dialogues`);
    return Number(r.rows[0]!.n);
  } finally {
    await db.close();
  }
}

test('dev starts embedded Temporal + Postgres, never prints the password, and a restart keeps the data', async () => {
  const first = await startDev();
  const password = readFileSync(path.join(dataDir, 'postgres/password'), 'utf8').trim();
  expect(first.output()).toMatch(
    /embedded PostgreSQL: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/dst_synth/,
  );
  expect(first.output()).not.toContain(password);

  const source = path.join(multiwozDir(), '2.4/dev-10pct.icdst.json');
  const result = await withClient((c) =>
    c.workflow.execute(importDatasetWorkflow, {
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: 'dev-persistence-import',
      args: [{ dataset: 'multiwoz24', source, split: 'dev' }],
    }),
  );
  expect(result.inserted).toBe(100);
  expect(await countDialogues()).toBe(100);
  await stopDev(first);

  const second = await startDev();
  expect(second.output()).not.toContain(password);
  const described = await withClient((c) => c.workflow.getHandle('dev-persistence-import').describe());
  expect(described.status.name).toBe('COMPLETED');
  expect(await countDialogues()).toBe(100);
  await stopDev(second);
});

/** Whether something accepts TCP connections on 127.0.0.1:`p`. */
function listening(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

test('Ctrl-C after the console reader is gone (`dev | tee`, tee stopped by the same Ctrl-C) still stops the services', async () => {
  const dev = await startDev();
  const pgPid = Number(
    readFileSync(path.join(dataDir, 'postgres/cluster/postmaster.pid'), 'utf8').split('\n')[0],
  );
  expect(await listening(port)).toBe(true);
  // The reader goes away: the CLI's next console line meets a closed pipe (EPIPE).
  dev.child.stdout!.destroy();
  dev.child.stderr!.destroy();
  dev.child.kill('SIGINT');
  await dev.exited;
  expect(await listening(port)).toBe(false);
  const gone = async () => {
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pgPid, 0);
      } catch {
        return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  expect(await gone()).toBe(true);
  // And the next `dev` starts: nothing was left holding the ports or the data folder.
  await stopDev(await startDev());
}, 180_000);
