/**
 * Per-role accounting of LLM work (user, system, paraphraser, labeller): calls, prompt tokens,
 * prompt tokens actually evaluated (the rest came from a cached prefix), completion tokens and
 * wall milliseconds. It tells where a dialogue's time goes, so local generation can be tuned.
 */
import { InvalidLlmOutputError } from '../llm/errors';
import type { ChatResult, LlmClient, Usage } from '../llm/types';
import { textTable } from '../common/text-table';

export interface RoleUsage {
  calls: number;
  promptTokens: number;
  /** Prompt tokens computed by the model (equals `promptTokens` when nothing was cached). */
  evaluatedTokens: number;
  completionTokens: number;
  /** Wall-clock milliseconds spent in this role's calls (queueing for the model included). */
  ms: number;
}

/** Role name → its totals. Plain JSON (sessions, heartbeats, the database). */
export type RoleUsageTotals = Record<string, RoleUsage>;

const empty = (): RoleUsage => ({
  calls: 0,
  promptTokens: 0,
  evaluatedTokens: 0,
  completionTokens: 0,
  ms: 0,
});

/** Adds one call (a structured retry counts as its `calls`) to `totals`, in place. */
export function addRoleCall(
  totals: RoleUsageTotals,
  role: string,
  r: { usage: Usage; calls?: number },
  ms: number,
): void {
  const t = (totals[role] ??= empty());
  t.calls += r.calls ?? 1;
  t.promptTokens += r.usage.promptTokens;
  t.evaluatedTokens += r.usage.evaluatedPromptTokens ?? r.usage.promptTokens;
  t.completionTokens += r.usage.completionTokens;
  t.ms += ms;
}

/** Sum of several totals (dialogues of a run). */
export function sumRoleUsage(all: ReadonlyArray<RoleUsageTotals | undefined>): RoleUsageTotals {
  const out: RoleUsageTotals = {};
  for (const totals of all) {
    for (const [role, u] of Object.entries(totals ?? {})) {
      const t = (out[role] ??= empty());
      t.calls += u.calls;
      t.promptTokens += u.promptTokens;
      t.evaluatedTokens += u.evaluatedTokens;
      t.completionTokens += u.completionTokens;
      t.ms += u.ms;
    }
  }
  return out;
}

/**
 * The client as seen by one session: every call carries a cache key per (goal, attempt, role)
 * and is recorded in `totals` with its duration, failed structured answers included.
 */
export function meteredClient(llm: LlmClient, conversation: string, totals: RoleUsageTotals): LlmClient {
  const timed = async <R extends ChatResult>(role: string, call: () => Promise<R>): Promise<R> => {
    const t0 = performance.now();
    try {
      const r = await call();
      addRoleCall(totals, role, r, performance.now() - t0);
      return r;
    } catch (err) {
      if (err instanceof InvalidLlmOutputError) addRoleCall(totals, role, err, performance.now() - t0);
      throw err;
    }
  };
  return {
    model: llm.model,
    chat: (req) => timed(req.role, () => llm.chat({ cacheKey: `${conversation}/${req.role}`, ...req })),
    structured: (req) =>
      timed(req.role, () => llm.structured({ cacheKey: `${conversation}/${req.role}`, ...req })),
    ...(llm.preflight ? { preflight: llm.preflight.bind(llm) } : {}),
  };
}

/** Console table of per-role totals: calls, tokens, evaluated share, tokens/s, seconds. */
export function formatRoleTable(totals: RoleUsageTotals): string {
  const head = ['role', 'calls', 'prompt tok', 'evaluated', 'completion', 'seconds', 's/call', 'compl tok/s'];
  const rows = Object.entries(totals).map(([role, u]) => [
    role,
    String(u.calls),
    String(u.promptTokens),
    `${u.evaluatedTokens} (${u.promptTokens ? Math.round((100 * u.evaluatedTokens) / u.promptTokens) : 0}%)`,
    String(u.completionTokens),
    (u.ms / 1000).toFixed(1),
    u.calls ? (u.ms / 1000 / u.calls).toFixed(2) : '-',
    u.ms ? ((1000 * u.completionTokens) / u.ms).toFixed(1) : '-',
  ]);
  return textTable([head, ...rows]);
}
