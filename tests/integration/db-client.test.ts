/**
 * The pooled connection on a real Postgres whose server ends a connection (as a restart
 * does): the process must not crash, and the pool must go on with fresh connections.
 */
import { sql } from 'drizzle-orm';
import { openDb } from '../../db/client';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
}, 120_000);
afterAll(async () => db?.stop());

test('a checked-out connection terminated by the server (mid-transaction): no crash, the pool recovers', async () => {
  const { db: d, pool, close } = openDb(db.url, 2);
  const crashes: unknown[] = [];
  const onUncaught = (e: unknown) => crashes.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const tx = d.transaction(async (t) => {
      const pid = (await t.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`)).rows[0]!.pid;
      // Another connection ends this one while the transaction waits between statements.
      await db.handle.db.execute(sql`select pg_terminate_backend(${pid})`);
      await new Promise((r) => setTimeout(r, 500));
      await t.execute(sql`select 1`);
    });
    await expect(tx).rejects.toThrow();
    expect(crashes).toEqual([]);
    const r = await d.execute<{ one: number }>(sql`select 1 as one`);
    expect(r.rows[0]!.one).toBe(1);
    expect(pool.totalCount).toBeLessThanOrEqual(2);
  } finally {
    process.off('uncaughtException', onUncaught);
    await close();
  }
});
