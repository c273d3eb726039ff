/**
 * LLM failures as Temporal sees them. Temporal owns retries (the SDK's own are off), so every
 * transport error is mapped to an `ApplicationFailure` here: transient ones (429, 5xx, timeouts,
 * connection errors) stay retryable, with the server's `Retry-After` as `nextRetryDelay`; ones a
 * retry cannot fix (bad key, unknown model, prompt too long) are non-retryable and carry a
 * message that tells the user what to change. No message ever contains the API key.
 */
import { ApplicationFailure } from '@temporalio/common';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { LLM_FAILURE } from '../common/failure-types';
import type { LlmClient, Usage } from './types';

/** `ApplicationFailure.type` values (defined in `common/failure-types.ts`, which workflows import). */
export const LlmFailureType = LLM_FAILURE;
export type LlmFailureType = (typeof LlmFailureType)[keyof typeof LlmFailureType];

/**
 * The model answered, twice, with something that is not valid JSON for the schema.
 * A plain Error (not a Temporal failure) so callers can decide; Temporal retries it by default.
 */
export class InvalidLlmOutputError extends Error {
  override readonly name = 'InvalidLlmOutputError';
  constructor(
    /** Why the last answer was rejected (JSON parse or zod validation error). */
    readonly reason: string,
    /** Usage of all attempts together: the tokens were spent even though the answer is unusable. */
    readonly usage: Usage,
    readonly costUsd: number,
    /** The last raw answer, for logs. */
    readonly lastText: string,
    /** Model calls spent (2: the answer and the retry). */
    readonly calls = 2,
  ) {
    super(`the LLM gave no valid JSON answer after 2 attempts: ${reason}`);
  }
}

/**
 * The model's JSON answer was cut off by the completion-token limit (`finish_reason: "length"`)
 * before it was complete, as openai-node's `LengthFinishReasonError`. Not an
 * `InvalidLlmOutputError`: the model did not answer badly, the limit is too low for the answer,
 * so asking again (the correction retry, or a Temporal retry) is cut at the same place.
 * `toTemporalFailure` makes it non-retryable (`LlmFailureType.OutputTruncated`).
 */
export class LlmOutputTruncatedError extends Error {
  override readonly name = 'LlmOutputTruncatedError';
  constructor(
    /** The request's completion-token limit; undefined when the client's default applied. */
    readonly maxTokens: number | undefined,
    /** Usage of the calls made (the truncated one included). */
    readonly usage: Usage,
    readonly costUsd: number,
    /** The truncated answer, for logs. */
    readonly lastText: string,
    /** Model calls spent. */
    readonly calls = 1,
  ) {
    const limit = maxTokens === undefined ? 'its maxTokens limit' : `maxTokens = ${maxTokens}`;
    super(
      `the LLM's JSON answer was cut off at ${limit} (${usage.completionTokens} completion tokens, ` +
        'finish_reason "length"): raise "maxTokens" in the LLM config ' +
        '(the run config\'s "generation.llm.maxTokens"; default 512)',
    );
  }
}

/**
 * The usage of a truncated structured answer, whether the client threw it plain
 * (`LlmOutputTruncatedError`) or already mapped (`ApplicationFailure` of type
 * `OutputTruncated`, as the OpenAI client and `truncationIsFatal` do); undefined for any other
 * error. Lets a caller that chose a short `maxTokens` itself ask again at the client's limit.
 */
export function truncatedUsage(err: unknown): Usage | undefined {
  if (err instanceof LlmOutputTruncatedError) return err.usage;
  if (err instanceof ApplicationFailure && err.type === LlmFailureType.OutputTruncated) {
    const d = (err.details?.[0] ?? {}) as { usage?: Usage };
    return d.usage ?? { promptTokens: 0, completionTokens: 0 };
  }
  return undefined;
}

/** What the mapper needs to write actionable messages; all optional. */
export interface FailureContext {
  /** Endpoint base URL, shown to the user (credentials in it are removed). */
  baseURL?: string;
  model?: string;
  /** Strings that must never appear in a message (the API key). */
  secrets?: readonly string[];
}

type HeaderSource = { get(name: string): string | null } | Record<string, string | undefined> | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof headers.get === 'function')
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const rec = headers as Record<string, string | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : rec[key];
}

/**
 * Delay the server asked for, in ms: `retry-after-ms` (OpenAI, Azure) wins over `Retry-After`
 * (seconds, or an HTTP date). Undefined when absent, unparsable or not in the future.
 */
export function retryAfterMs(headers: HeaderSource, now: number = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms')?.trim();
  if (ms && Number.isFinite(Number(ms)) && Number(ms) > 0) return Number(ms);
  const raw = header(headers, 'retry-after')?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw) > 0 ? Number(raw) * 1000 : undefined;
  const at = Date.parse(raw); // an HTTP date
  return Number.isFinite(at) && at > now ? at - now : undefined;
}

/** Base URL without user-info, query or trailing slash, for messages. */
export function displayUrl(baseURL: string | undefined): string {
  if (!baseURL) return 'the LLM endpoint';
  try {
    const u = new URL(baseURL);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}`;
  } catch {
    return '<invalid base URL>';
  }
}

/** Removes the given secrets and anything shaped like an OpenAI key (even a masked one). */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<redacted>');
  return out.replace(/\b(sk|pk|rk)-[A-Za-z0-9_*.-]{3,}/g, '<redacted>');
}

const CONTEXT_LENGTH = /context[_ ]length|maximum context|context window|too many tokens|reduce the length/i;

function serverMessage(err: APIError, secrets: readonly string[]): string {
  const body = err.error as { message?: unknown } | undefined;
  const raw = typeof body?.message === 'string' ? body.message : err.message;
  const clean = redact(raw, secrets).replace(/\s+/g, ' ').trim();
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}

function failure(
  message: string,
  type: LlmFailureType,
  retryable: boolean,
  details: object,
  nextRetryDelay?: number,
) {
  return ApplicationFailure.create({
    message,
    type,
    nonRetryable: !retryable,
    details: [details],
    nextRetryDelay,
  });
}

/**
 * Maps an error from an LLM call to a Temporal `ApplicationFailure` (never a subclass: Temporal
 * must recognise it). An `ApplicationFailure` is returned as is. Aborts (`APIUserAbortError`)
 * become a non-retryable failure here, but the clients rethrow aborts unmapped so that an
 * activity cancellation stays a cancellation.
 */
export function toTemporalFailure(err: unknown, ctx: FailureContext = {}): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const url = displayUrl(ctx.baseURL);
  const model = ctx.model ?? '<unknown model>';
  const secrets = ctx.secrets ?? [];
  if (err instanceof InvalidLlmOutputError) {
    return failure(redact(err.message, secrets), LlmFailureType.InvalidOutput, true, { usage: err.usage });
  }
  if (err instanceof LlmOutputTruncatedError) {
    const details = { usage: err.usage, maxTokens: err.maxTokens ?? null };
    return failure(redact(err.message, secrets), LlmFailureType.OutputTruncated, false, details);
  }
  if (err instanceof APIUserAbortError) {
    return failure(`the LLM request to ${url} was aborted`, LlmFailureType.Unknown, false, {});
  }
  if (err instanceof APIConnectionTimeoutError) {
    return failure(
      `no answer from ${url} within the request timeout (model ${model})`,
      LlmFailureType.Timeout,
      true,
      {},
    );
  }
  if (err instanceof APIConnectionError) {
    const cause = err.cause instanceof Error ? `: ${redact(err.cause.message, secrets)}` : '';
    return failure(`cannot connect to the LLM endpoint ${url}${cause}`, LlmFailureType.Connection, true, {});
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const said = serverMessage(err, secrets);
    const details = { status, code: err.code ?? null, requestId: err.requestID ?? null, serverMessage: said };
    if (status === 429) {
      if (err.code === 'insufficient_quota') {
        return failure(
          `the account behind the API key has no quota left at ${url} (429 insufficient_quota): check billing. Server said: ${said}`,
          LlmFailureType.Quota,
          false,
          details,
        );
      }
      const delay = retryAfterMs(err.headers);
      const wait = delay === undefined ? '' : `; retrying in ${(delay / 1000).toFixed(1)} s`;
      return failure(`rate limited by ${url} (429)${wait}`, LlmFailureType.RateLimited, true, details, delay);
    }
    if (status >= 500 || status === 408 || status === 409) {
      const delay = retryAfterMs(err.headers);
      return failure(
        `the LLM endpoint ${url} failed (${status}): ${said}`,
        LlmFailureType.ServerError,
        true,
        details,
        delay,
      );
    }
    if (status === 401) {
      return failure(
        `the LLM endpoint ${url} rejected the API key (401): check OPENAI_API_KEY`,
        LlmFailureType.Auth,
        false,
        details,
      );
    }
    if (status === 403) {
      return failure(
        `the LLM endpoint ${url} refused access to model ${model} (403): check the key's project, organisation or region permissions. Server said: ${said}`,
        LlmFailureType.Forbidden,
        false,
        details,
      );
    }
    if (status === 404) {
      return failure(
        `model ${model} not found at ${url} (404): check the model name, or the base URL (OpenAI-compatible servers usually end in /v1). Server said: ${said}`,
        LlmFailureType.ModelNotFound,
        false,
        details,
      );
    }
    if (status === 413 || CONTEXT_LENGTH.test(said) || err.code === 'context_length_exceeded') {
      return failure(
        `the prompt is longer than model ${model}'s context window (${status} at ${url}): shorten the dialogue history or use a model with a longer context. Server said: ${said}`,
        LlmFailureType.ContextLength,
        false,
        details,
      );
    }
    return failure(
      `the LLM endpoint ${url} rejected the request (${status}) for model ${model}: ${said}`,
      LlmFailureType.BadRequest,
      false,
      details,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return failure(`LLM call failed: ${redact(message, secrets)}`, LlmFailureType.Unknown, true, {});
}

/**
 * One tiny call that proves endpoint, key and model work, so `generate` can refuse to start
 * instead of failing thousands of activities. Throws the non-retryable failures above (bad key,
 * unknown model, …) and transient ones (server down). A plain rate limit counts as success: the
 * key and model were accepted and Temporal will pace the real calls.
 */
export async function preflight(client: LlmClient, signal?: AbortSignal): Promise<void> {
  try {
    if (client.preflight) await client.preflight(signal);
    else {
      const messages = [{ role: 'user' as const, content: 'Reply with the word OK.' }];
      await client.chat({ role: 'preflight', messages, maxTokens: 1, temperature: 0, signal });
    }
  } catch (err) {
    const f = toTemporalFailure(err, { model: client.model });
    if (f.type === LlmFailureType.RateLimited) return;
    throw f;
  }
}
