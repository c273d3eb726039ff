/**
 * Retrying transient LLM failures outside Temporal (in-process `simulate`): the same
 * classification Temporal uses (retryable `ApplicationFailure`s, with the server's delay
 * in `nextRetryDelay`), exponential backoff otherwise.
 */
import { ApplicationFailure } from '@temporalio/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { stepSession, type SimulatorDeps, type SimulatorOptions } from './engine';
import { STEP, type Session } from './session';

export interface RetryPolicy {
  /** Attempts per step. Default 8. */
  maxAttempts?: number;
  /** First backoff in ms when the server gives no delay. Default 1000. */
  initialMs?: number;
  /** Cap on one wait in ms. Default 60000. */
  maxMs?: number;
}

function delayOf(err: ApplicationFailure): number | undefined {
  const d = err.nextRetryDelay;
  if (d === undefined || d === null) return undefined;
  if (typeof d === 'number') return d;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(String(d).trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

/** Runs one step, retrying retryable failures; non-retryable ones are thrown. */
export async function stepWithRetry(
  s: Session,
  deps: SimulatorDeps,
  opts: SimulatorOptions,
  policy: RetryPolicy = {},
): Promise<Session> {
  const max = policy.maxAttempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await stepSession(s, deps, opts);
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || err.nonRetryable || attempt >= max) throw err;
      const backoff = Math.min(policy.maxMs ?? 60_000, (policy.initialMs ?? 1000) * 2 ** (attempt - 1));
      await sleep(Math.min(policy.maxMs ?? 60_000, delayOf(err) ?? backoff));
    }
  }
}

/** `runSession` with `stepWithRetry`. */
export async function runSessionWithRetry(
  session: Session,
  deps: SimulatorDeps,
  opts: SimulatorOptions,
  policy?: RetryPolicy,
  onStep?: (s: Session) => void,
): Promise<Session> {
  let s = session;
  while (s.next !== STEP.DONE) {
    s = await stepWithRetry(s, deps, opts, policy);
    onStep?.(s);
  }
  return s;
}
