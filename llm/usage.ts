/** Token and cost accounting: per call from the endpoint, summed per dialogue by `UsageMeter`. */
import type { ChatMessage, Usage } from './types';

/** Prices in US dollars per million tokens. */
export interface Prices {
  /** USD per 1,000,000 prompt (input) tokens. */
  promptPerMTok: number;
  /** USD per 1,000,000 completion (output) tokens. */
  completionPerMTok: number;
}

/**
 * Rough token count for servers that report no usage: about 4 characters per token for English
 * (OpenAI's rule of thumb). Good enough for budgets, not for billing. Minimum 1 for non-empty text.
 */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

/** Estimated prompt tokens of a message list, with ~4 tokens of framing per message. */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((n, m) => n + 4 + estimateTokens(m.content), 0);
}

/** Cost in USD of `usage` at `prices`; 0 without prices (local models, unknown endpoints). */
export function costUsd(usage: Usage, prices?: Prices): number {
  if (!prices) return 0;
  return (
    (usage.promptTokens * prices.promptPerMTok + usage.completionTokens * prices.completionPerMTok) / 1e6
  );
}

export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
  };
  if (a.estimated || b.estimated) sum.estimated = true;
  if (a.evaluatedPromptTokens !== undefined || b.evaluatedPromptTokens !== undefined) {
    sum.evaluatedPromptTokens =
      (a.evaluatedPromptTokens ?? a.promptTokens) + (b.evaluatedPromptTokens ?? b.promptTokens);
  }
  return sum;
}

/** Sums of a `UsageMeter`; plain JSON so it can go into heartbeats and activity results. */
export interface UsageTotals {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** Calls whose token counts were estimated (the server reported none). */
  estimatedCalls: number;
}

/** Accumulates usage over the calls of one dialogue (or any other unit). */
export class UsageMeter {
  private t: UsageTotals;

  /** @param initial totals to resume from (e.g. heartbeat details of a retried activity). */
  constructor(initial?: Partial<UsageTotals>) {
    this.t = { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, estimatedCalls: 0, ...initial };
  }

  /**
   * Adds one call. Pass a result, or an `InvalidLlmOutputError` (it carries usage and cost too):
   * tokens spent on a rejected answer still count.
   */
  add(result: { usage: Usage; costUsd: number; calls?: number }): this {
    const calls = result.calls ?? 1;
    this.t.calls += calls;
    this.t.promptTokens += result.usage.promptTokens;
    this.t.completionTokens += result.usage.completionTokens;
    this.t.costUsd += result.costUsd;
    if (result.usage.estimated) this.t.estimatedCalls += calls;
    return this;
  }

  get totals(): UsageTotals {
    return { ...this.t };
  }
}
