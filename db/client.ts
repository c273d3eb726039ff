import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { Pool } from 'pg';
import * as schema from './schema';

export type Db = NodePgDatabase<typeof schema>;

export interface DbHandle {
  db: Db;
  pool: Pool;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /**
   * Commit without waiting for the WAL flush (`synchronous_commit=off`) on every connection of
   * this pool: for progress records whose loss in a *Postgres* crash only costs repeated work.
   * Default false.
   */
  asyncCommit?: boolean;
}

/** Opens a pooled connection. `max` is the pool size (default 5). */
export function openDb(url: string, max = 5, opts: OpenDbOptions = {}): DbHandle {
  const pool = new Pool({
    connectionString: url,
    max,
    ...(opts.asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
  });
  // An idle client losing its server (Postgres restart) must not crash the process.
  pool.on('error', () => undefined);
  // Nor a checked-out one: between the statements of a transaction a client has no query to
  // fail, so pg emits the server's "terminating connection" as an 'error' event, which crashed
  // the worker on a Postgres restart. The caller's next query fails instead (retried), and the
  // pool drops the broken client on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = drizzle(pool, { schema });
  return { db, pool, close: () => pool.end() };
}

/** `postgres://user:***@host:port/db` — safe to print. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}
