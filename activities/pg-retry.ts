/**
 * Waiting out a Postgres restart: an activity that only saves progress (a dialogue session)
 * should wait for the database to come back rather than fail, since a failed attempt is
 * retried from the last save and repeats the LLM call whose answer it could not save.
 */

/** Postgres unreachable, restarting or dropping the connection (not a bad query). */
export function isConnectionError(e: unknown): boolean {
  for (let err = e as { code?: unknown; message?: unknown; cause?: unknown } | undefined; err;) {
    const code = typeof err.code === 'string' ? err.code : '';
    // 08xxx connection exceptions; 57P01-57P03 admin shutdown, crash shutdown, cannot connect now.
    if (/^(08|57P0[123])/.test(code) || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(code)) return true;
    if (
      /Connection terminated|Client has encountered a connection error|not queryable/i.test(
        String(err.message),
      )
    )
      return true;
    err = err.cause as typeof err; // drizzle wraps the driver's error
  }
  return false;
}

export interface WaitOptions {
  /** Give up (rethrow) after this long, in ms. Default 30 000. */
  maxWaitMs?: number;
  /** Pause between tries, in ms. Default 500. */
  everyMs?: number;
  /** Stop waiting (rethrow) once aborted, e.g. the activity's cancellation. */
  signal?: AbortSignal;
}

/** Runs `fn`; while it fails for want of a connection, tries again (bounded). */
export async function retryWhileDisconnected<T>(fn: () => Promise<T>, o: WaitOptions = {}): Promise<T> {
  const until = Date.now() + (o.maxWaitMs ?? 30_000);
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isConnectionError(e) || Date.now() >= until || o.signal?.aborted) throw e;
      await new Promise((r) => setTimeout(r, o.everyMs ?? 500));
    }
  }
}
