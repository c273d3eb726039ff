/**
 * The services integration tests run on, started and stopped as one:
 *
 * - `startTestServices`: the Temporal test environment (a real dev server), a migrated test
 *   database, the loopback LLM server answering with scripted roles and, when asked, the
 *   workers in this process (every queue, generation through the loopback server).
 * - `startProcessServices`: a Temporal dev server and an embedded PostgreSQL as separate
 *   processes on fixed ports and folders, so a test can stop and restart either.
 * - `cliWorkers`: `dst-synth worker` processes, for tests that SIGKILL workers.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createGenerationResources } from '../../activities/generate-resources';
import { openDb, type DbHandle } from '../../db/client';
import { runMigrations } from '../../db/migrate';
import { freePort } from '../../infra/ports';
import { startEmbeddedPostgres, type RunningPostgres } from '../../infra/postgres';
import { startTemporalDevServer, type RunningDevServer } from '../../infra/temporal';
import { createLlmClient } from '../../llm/config';
import { bundleWorkflows, createWorkers } from '../../worker';
import { spawnCli, type CliProcess } from './cli';
import { startLlmServer, type LlmServer } from './llm-server';
import { startTestDatabase, type TestDatabase } from './postgres';
import { scriptedRoles } from './scripted-roles';
import { startTestTemporal } from './temporal';

/** Environment entries for child processes; `undefined` removes the variable. */
export type EnvOverrides = Record<string, string | undefined>;

function childEnv(set: EnvOverrides): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(set)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** The loopback OpenAI-compatible server answering as the scripted user and agent. */
export const startScriptedLlmServer = (apiKey: string): Promise<LlmServer> =>
  startLlmServer({ responder: scriptedRoles(), apiKey });

/** Starts every task, and when one fails stops those that started before rethrowing. */
async function startAll<T extends readonly unknown[]>(
  starts: { [K in keyof T]: () => Promise<T[K]> },
  stops: { [K in keyof T]: (started: T[K]) => Promise<unknown> },
): Promise<T> {
  const settled = await Promise.allSettled(starts.map((s) => s()));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
  await Promise.allSettled(
    settled.map((s, i) => (s.status === 'fulfilled' ? stops[i]!(s.value as never) : undefined)),
  );
  throw failed.reason;
}

export interface TestServicesOptions {
  /** The API key the loopback LLM server wants. */
  apiKey: string;
  /** Run the workers (every queue) in this process. Default false (e.g. for CLI workers). */
  workers?: boolean;
}

export interface TestServices {
  env: TestWorkflowEnvironment;
  db: TestDatabase;
  server: LlmServer;
  /** The workers in this process (empty without `workers: true`). */
  workers: Worker[];
  /** `process.env` with these services configured (Temporal, Postgres, the LLM server), plus `extra`. */
  cliEnv(extra?: EnvOverrides): NodeJS.ProcessEnv;
  /** Shuts the workers down, then stops every service. */
  stop(): Promise<void>;
}

export async function startTestServices(opts: TestServicesOptions): Promise<TestServices> {
  const [env, db, server] = await startAll<[TestWorkflowEnvironment, TestDatabase, LlmServer]>(
    [startTestTemporal, startTestDatabase, () => startScriptedLlmServer(opts.apiKey)],
    [(e) => e.teardown(), (d) => d.stop(), (s) => s.close()],
  );
  const llmEnv = { OPENAI_API_KEY: opts.apiKey, OPENAI_BASE_URL: server.url };
  const stopServices = async () => {
    await env.teardown();
    await db.stop();
    await server.close();
  };
  let workers: Worker[] = [];
  let running: Promise<unknown> = Promise.resolve();
  if (opts.workers) {
    try {
      workers = await createWorkers({
        connection: env.nativeConnection,
        deps: {
          db: db.handle.db,
          downloadDir: os.tmpdir(),
          generation: createGenerationResources({ createLlm: (c) => createLlmClient(c, llmEnv) }),
        },
        workflowBundle: await bundleWorkflows(),
      });
    } catch (err) {
      await stopServices();
      throw err;
    }
    running = Promise.all(workers.map((w) => w.run()));
  }
  return {
    env,
    db,
    server,
    workers,
    cliEnv: (extra = {}) =>
      childEnv({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: db.url, ...llmEnv, ...extra }),
    async stop() {
      workers.forEach((w) => w.shutdown());
      await running;
      await stopServices();
    },
  };
}

export interface ProcessServices {
  /** The running dev server (replaced by `startTemporal`). */
  readonly temporal: RunningDevServer;
  /** The running PostgreSQL (replaced by `startPostgres`). */
  readonly pg: RunningPostgres;
  /** A migrated connection to it (reopened by `startPostgres`). */
  readonly db: DbHandle;
  /** `process.env` with TEMPORAL_ADDRESS and DATABASE_URL set to these services, plus `extra`. */
  cliEnv(extra?: EnvOverrides): NodeJS.ProcessEnv;
  stopTemporal(): Promise<void>;
  /** Starts the dev server again on the same port and SQLite file. */
  startTemporal(): Promise<void>;
  /** Closes the connection and stops PostgreSQL. */
  stopPostgres(): Promise<void>;
  /** Starts PostgreSQL again on the same port and folder, and reconnects. */
  startPostgres(): Promise<void>;
  /**
   * SIGKILLs PostgreSQL — the postmaster and every backend, its whole process group, as a
   * crash or the OOM killer of a container would: no shutdown checkpoint, unflushed WAL lost
   * (the async-commit session saves of the last moments). Resolves once all are gone.
   */
  killPostgres(): Promise<void>;
  /** PostgreSQL's log (every start appends to it). */
  readonly pgLog: string;
  stop(): Promise<void>;
}

/**
 * A headless Temporal dev server and an embedded PostgreSQL (migrated), each a process of its
 * own with its data in a fresh folder under the temp dir (`<prefix>-temporal-…`,
 * `<prefix>-pg-…`) and a fixed free port, so either can be restarted and keeps its data.
 */
export async function startProcessServices(prefix: string): Promise<ProcessServices> {
  const temporalDir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-temporal-`));
  const pgDir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-pg-`));
  const [temporalPort, pgPort] = [await freePort(), await freePort()];
  const startT = () => startTemporalDevServer({ dataDir: temporalDir, port: temporalPort, headless: true });
  const startP = () => startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
  let [temporal, pg] = await startAll<[RunningDevServer, RunningPostgres]>(
    [startT, startP],
    [(t) => t.stop(), (p) => p.stop()],
  );
  let db = openDb(pg.url);
  let dbOpen = true;
  const closeDb = async () => {
    if (dbOpen) await db.close();
    dbOpen = false;
  };
  try {
    await runMigrations(db.pool);
  } catch (err) {
    await db.close();
    await Promise.allSettled([temporal.stop(), pg.stop()]);
    throw err;
  }
  return {
    get temporal() {
      return temporal;
    },
    get pg() {
      return pg;
    },
    get db() {
      return db;
    },
    cliEnv: (extra = {}) => childEnv({ TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: pg.url, ...extra }),
    stopTemporal: () => temporal.stop(),
    async startTemporal() {
      temporal = await startT();
    },
    async stopPostgres() {
      await closeDb();
      await pg.stop();
    },
    pgLog: path.join(pgDir, 'postgres.log'),
    async killPostgres() {
      // postmaster.pid's first line is the postmaster, which leads its process group (detached).
      const pid = Number(readFileSync(path.join(pgDir, 'cluster', 'postmaster.pid'), 'utf8').split('\n')[0]);
      // The pool's clients fail on their own; waiting for it to end could outlast the server.
      dbOpen = false;
      void db.close().catch(() => undefined);
      process.kill(-pid, 'SIGKILL');
      for (let i = 0; i < 200 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    },
    async startPostgres() {
      pg = await startP();
      db = openDb(pg.url);
      dbOpen = true;
    },
    async stop() {
      await closeDb();
      await temporal.stop();
      await pg.stop();
    },
  };
}

/** True while any process of group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface CliWorkers {
  /** Starts `dst-synth worker <args>` and waits until it serves. */
  start(args: string[]): Promise<CliProcess>;
  /** SIGKILLs every worker still alive (for afterAll). */
  killAll(): void;
}

/** `dst-synth worker` processes with the environment `env()` gives at each start. */
export function cliWorkers(env: () => NodeJS.ProcessEnv): CliWorkers {
  const alive = new Set<CliProcess>();
  return {
    async start(args) {
      const w = spawnCli(['worker', ...args], env());
      alive.add(w);
      void w.exited.then(() => alive.delete(w));
      await w.waitFor(/worker serving/);
      return w;
    },
    killAll() {
      for (const w of alive) w.child.kill('SIGKILL');
    },
  };
}
