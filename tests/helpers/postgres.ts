import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openDb, type DbHandle } from '../../db/client';
import { runMigrations } from '../../db/migrate';
import { startEmbeddedPostgres } from '../../infra/postgres';

export interface TestDatabase {
  url: string;
  handle: DbHandle;
  stop(): Promise<void>;
}

/**
 * A real, migrated, empty database: a fresh database on DATABASE_URL's server when set,
 * else a throw-away embedded PostgreSQL.
 */
export async function startTestDatabase(): Promise<TestDatabase> {
  if (process.env.DATABASE_URL) return freshDatabaseOn(process.env.DATABASE_URL);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-pg-'));
  const pg = await startEmbeddedPostgres({ dataDir: dir });
  const handle = openDb(pg.url);
  await runMigrations(handle.pool);
  return {
    url: pg.url,
    handle,
    async stop() {
      await handle.close();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freshDatabaseOn(serverUrl: string): Promise<TestDatabase> {
  const name = `dst_test_${process.pid}_${Date.now()}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const handle = openDb(u.toString());
  await runMigrations(handle.pool);
  return {
    url: u.toString(),
    handle,
    async stop() {
      await handle.close();
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
