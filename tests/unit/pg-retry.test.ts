import { isConnectionError, retryWhileDisconnected } from '../../activities/pg-retry';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('connection errors, also wrapped by drizzle; query errors are not', () => {
  expect(isConnectionError(pgError('57P01', 'terminating connection due to administrator command'))).toBe(
    true,
  );
  expect(isConnectionError(pgError('ECONNREFUSED'))).toBe(true);
  expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
  expect(isConnectionError(new Error('Failed query: insert …', { cause: pgError('08006') }))).toBe(true);
  expect(isConnectionError(pgError('23505', 'duplicate key value'))).toBe(false);
  expect(isConnectionError(new Error('Failed query', { cause: pgError('42P01') }))).toBe(false);
});

test('waits out a restart, gives up after the bound, never retries a query error', async () => {
  let n = 0;
  const flaky = async () => {
    if (++n < 3) throw pgError('57P03', 'the database system is starting up');
    return 'saved';
  };
  await expect(retryWhileDisconnected(flaky, { everyMs: 10 })).resolves.toBe('saved');
  expect(n).toBe(3);

  let down = 0;
  const t0 = Date.now();
  await expect(
    retryWhileDisconnected(
      async () => {
        down++;
        throw pgError('ECONNREFUSED');
      },
      { everyMs: 20, maxWaitMs: 200 },
    ),
  ).rejects.toThrow();
  expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  expect(down).toBeGreaterThan(3);

  let bad = 0;
  await expect(
    retryWhileDisconnected(async () => {
      bad++;
      throw pgError('23505');
    }),
  ).rejects.toThrow();
  expect(bad).toBe(1);
});
