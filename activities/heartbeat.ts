/**
 * Heartbeats for activities that do one long piece of work with no natural progress points
 * (a report, an evaluation, a database write): their proxies set a heartbeat timeout so that a
 * dead worker is noticed in minutes, and without heartbeats a slow but healthy attempt would be
 * timed out and retried too.
 */
import { Context } from '@temporalio/activity';

/** Options of `withHeartbeat`. */
export interface HeartbeatOptions {
  /** Milliseconds between heartbeats. Default: a fifth of the heartbeat timeout, at most 30 s. */
  everyMs?: number;
}

/** A fifth of the heartbeat timeout (the SDK throttles sends to that anyway), 100 ms to 30 s. */
export function heartbeatPeriodMs(heartbeatTimeoutMs: number | undefined): number {
  return Math.max(100, Math.min(30_000, (heartbeatTimeoutMs ?? 60_000) / 5));
}

/**
 * Runs `work` inside the current activity, heartbeating at once and then on a timer until it
 * settles. The timer proves the worker's event loop is alive, not that the work advances: a
 * hang inside awaited I/O is left to the start-to-close timeout.
 */
export async function withHeartbeat<T>(work: () => Promise<T>, opts: HeartbeatOptions = {}): Promise<T> {
  const ctx = Context.current();
  const beat = () => ctx.heartbeat();
  beat();
  const timer = setInterval(beat, opts.everyMs ?? heartbeatPeriodMs(ctx.info.heartbeatTimeoutMs));
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
