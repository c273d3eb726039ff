import type { z } from 'zod';

/** One chat message in the OpenAI chat-completions shape. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Token counts of one call, as reported by the endpoint (estimated when it reports none). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** True when the endpoint reported no usage and the counts are the chars/4 estimate. */
  estimated?: boolean;
  /**
   * Prompt tokens the model actually computed: fewer than `promptTokens` when a cached prefix
   * was reused (local KV cache; `cached_tokens` of endpoints that report it). Absent: unknown.
   */
  evaluatedPromptTokens?: number;
}

export interface ChatRequest {
  /** Which simulator role makes the call (user, system, paraphraser, labeller): logs and scripts. */
  role: string;
  messages: ChatMessage[];
  /** Sampling temperature. Default: the client's configured one (0.5, as the paper). */
  temperature?: number;
  /**
   * Upper bound on completion tokens, never above the client's configured one (a role's own
   * cap only lowers the run's). Default: the client's configured one.
   */
  maxTokens?: number;
  /**
   * Stop sequences: the answer ends before the first of them, which is not part of it (OpenAI
   * `stop`, which takes at most 4; local: stop triggers). Default: none.
   */
  stop?: readonly string[];
  /** Abort the HTTP request (activity cancellation). */
  signal?: AbortSignal;
  /**
   * Calls with the same key continue one conversation (e.g. `<goal>/<attempt>/<role>`): a local
   * model keeps their shared prompt prefix in one KV-cache sequence, so each call evaluates only
   * the new tokens. Endpoints ignore it. Default: no affinity.
   */
  cacheKey?: string;
}

export interface ChatResult {
  text: string;
  usage: Usage;
  /** Estimated cost in US dollars from the configured per-token prices (0 when unknown). */
  costUsd: number;
  model: string;
  /** Why generation stopped, as the endpoint says (`stop`, `length`, …), when known. */
  finishReason?: string;
  /** HTTP/model calls behind this result (2 when a structured answer was retried). Default 1. */
  calls?: number;
}

export interface StructuredRequest<T> extends ChatRequest {
  /** The answer must be one JSON value matching this schema. */
  schema: z.ZodType<T>;
  /** Name of the schema for `response_format: json_schema`. */
  schemaName: string;
  /**
   * A narrower schema to constrain decoding with (`response_format`, local grammars), e.g.
   * slot names and categorical values as enums. Answers are still validated by `schema`, so
   * a server that ignores it cannot make a looser answer fail. Default: `schema`.
   */
  decodingSchema?: z.ZodType;
}

export interface StructuredResult<T> extends ChatResult {
  value: T;
}

/** The one small interface every simulator role talks to. */
export interface LlmClient {
  readonly model: string;
  chat(req: ChatRequest): Promise<ChatResult>;
  /**
   * JSON output validated by zod. An invalid answer is retried once with the validation
   * error appended to the conversation; a second invalid answer throws `InvalidLlmOutputError`.
   * Usage of both calls is summed in the result (and attached to the error).
   */
  structured<T>(req: StructuredRequest<T>): Promise<StructuredResult<T>>;
  /**
   * Optional cheap check that the endpoint, key and model work; throws the same clear,
   * non-retryable failures as a real call. Use the `preflight(client)` helper from
   * `llm/errors.ts`, which falls back to a one-token chat when a client has none.
   */
  preflight?(signal?: AbortSignal): Promise<void>;
  /** Optional: release resources (loaded local model). Idempotent. */
  close?(): Promise<void>;
}

/** The completion limit of a call: the lower of the request's and the client's, when set. */
export function completionLimit(
  requested: number | undefined,
  configured: number | undefined,
): number | undefined {
  if (requested === undefined) return configured;
  return configured === undefined ? requested : Math.min(requested, configured);
}
