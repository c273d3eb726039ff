/**
 * A per-process LLM budget: requests and tokens per minute, as token buckets refilled
 * continuously. Calls wait for budget instead of provoking 429s; with several workers, each
 * takes its share (set the worker's budget to the provider limit divided by the workers).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { estimateTokens } from './usage';
import type { ChatRequest, LlmClient, StructuredRequest } from './types';

export interface BudgetOptions {
  /** Requests per minute. Default: unlimited. */
  rpm?: number;
  /** Tokens (prompt + completion) per minute. Default: unlimited. */
  tpm?: number;
}

class Bucket {
  private level: number;
  private last = Date.now();
  constructor(private perMinute: number) {
    // Start with a few seconds' worth, not a full minute: a burst at start is what trips limits.
    this.level = Math.max(1, perMinute / 12);
  }
  setRate(perMinute: number): void {
    this.refill();
    this.perMinute = perMinute;
  }
  private refill(): void {
    const now = Date.now();
    this.level = Math.min(this.perMinute / 12, this.level + ((now - this.last) / 60_000) * this.perMinute);
    this.last = now;
  }
  /** ms to wait before `amount` is available (0: take it now). */
  take(amount: number): number {
    this.refill();
    const need = Math.min(amount, this.perMinute / 12);
    if (this.level >= need) {
      this.level -= amount;
      return 0;
    }
    return Math.ceil(((need - this.level) / this.perMinute) * 60_000);
  }
  debit(amount: number): void {
    this.level -= amount;
  }
}

export interface Budget {
  set(opts: BudgetOptions): void;
  /** Waits until a request of about `tokens` tokens fits the budget. */
  acquire(tokens: number, signal?: AbortSignal): Promise<void>;
  /** Books the tokens a call used beyond its estimate. */
  settle(extraTokens: number): void;
}

export function createBudget(opts: BudgetOptions = {}): Budget {
  let rpm = opts.rpm ? new Bucket(opts.rpm) : undefined;
  let tpm = opts.tpm ? new Bucket(opts.tpm) : undefined;
  // One waiter at a time, so calls go out in arrival order.
  let queue: Promise<void> = Promise.resolve();
  return {
    set(o) {
      if (o.rpm) (rpm ??= new Bucket(o.rpm)).setRate(o.rpm);
      if (o.tpm) (tpm ??= new Bucket(o.tpm)).setRate(o.tpm);
    },
    acquire(tokens, signal) {
      const turn = queue.then(async () => {
        for (;;) {
          const wait = Math.max(rpm?.take(1) ?? 0, 0);
          if (wait > 0) {
            await sleep(wait, undefined, { signal });
            continue;
          }
          const tWait = tpm?.take(tokens) ?? 0;
          if (tWait === 0) return;
          rpm?.debit(-1); // give the request slot back while waiting for tokens
          await sleep(tWait, undefined, { signal });
        }
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
    settle(extra) {
      tpm?.debit(extra);
    },
  };
}

/** Wraps a client so every call first takes budget. */
export function withBudget(client: LlmClient, budget: Budget): LlmClient {
  const estimate = (req: ChatRequest) =>
    req.messages.reduce((n, m) => n + estimateTokens(m.content), 0) + (req.maxTokens ?? 256);
  return {
    get model() {
      return client.model;
    },
    async chat(req) {
      const est = estimate(req);
      await budget.acquire(est, req.signal);
      const r = await client.chat(req);
      budget.settle(r.usage.promptTokens + r.usage.completionTokens - est);
      return r;
    },
    async structured<T>(req: StructuredRequest<T>) {
      const est = estimate(req);
      await budget.acquire(est, req.signal);
      const r = await client.structured(req);
      budget.settle(r.usage.promptTokens + r.usage.completionTokens - est);
      return r;
    },
    preflight: client.preflight?.bind(client),
    close: client.close?.bind(client),
  };
}
