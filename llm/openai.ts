/**
 * `LlmClient` over any OpenAI-compatible chat-completions endpoint (OpenAI, Azure, vLLM, Ollama,
 * llama.cpp server) via the `openai` package. The SDK's retries are off: Temporal retries the
 * activity, using the failures from `toTemporalFailure`.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { InvalidLlmOutputError, toTemporalFailure, type FailureContext } from './errors';
import { jsonSchemaOf, runStructured, schemaInstruction, type JsonSchema } from './structured';
import { costUsd, estimatePromptTokens, estimateTokens, type Prices } from './usage';
import {
  completionLimit,
  type ChatMessage,
  type ChatRequest,
  type ChatResult,
  type LlmClient,
  type Usage,
} from './types';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** Header carrying `ChatRequest.role`, so logs, proxies and the test server can tell roles apart. */
export const ROLE_HEADER = 'x-dst-role';
/** Header carrying `ChatRequest.cacheKey` (`<goal>/<attempt>/<role>`): tells calls of dialogues apart. */
export const CONVERSATION_HEADER = 'x-dst-conversation';

export interface OpenAiClientOptions {
  /** Sent as `Authorization: Bearer`; never logged nor put in any error message. */
  apiKey: string;
  /** Endpoint base URL, ending in `/v1` for most servers. Default: OpenAI's. */
  baseURL?: string;
  /** Model name as the endpoint knows it. */
  model: string;
  /** Sampling temperature. Default 0.5 (the paper's). */
  temperature?: number;
  /** Upper bound on completion tokens per call (`max_tokens`). Default: the server's. */
  maxTokens?: number;
  /** Per-request timeout in milliseconds. Default 60000. A timeout is a retryable failure. */
  timeoutMs?: number;
  /** USD per million tokens, for `costUsd`. Default: none (cost 0). */
  prices?: Prices;
  /**
   * Send `strict: true` with the JSON schema. Default false: OpenAI's strict mode rejects common
   * zod shapes (optional fields, records), and every answer is validated with zod anyway.
   */
  strictJsonSchema?: boolean;
  /** Where to report a structured-output downgrade. Default `console.warn`. */
  warn?: (message: string) => void;
}

/**
 * How structured calls ask for JSON. We start with `json_schema` (the server constrains decoding
 * to the schema). Servers that reject it with a 400/422 mentioning `response_format` get
 * `json_object` (valid JSON, schema stated in the prompt), and those that reject that too get no
 * `response_format` at all (schema in the prompt, tolerant parsing). The downgrade is sticky for
 * the client, so each later call goes straight to what works.
 */
type JsonMode = 'json_schema' | 'json_object' | 'prompt';
const NEXT_MODE = { json_schema: 'json_object', json_object: 'prompt' } as const;

function rejectsResponseFormat(err: unknown): boolean {
  if (!(err instanceof APIError) || (err.status !== 400 && err.status !== 422)) return false;
  return /response_format|json_schema|json_object/i.test(`${err.message} ${JSON.stringify(err.error ?? '')}`);
}

/** Puts the schema instruction into the leading system message: some chat templates allow only one, first. */
function withSchemaInstruction(messages: ChatMessage[], schema: JsonSchema): ChatMessage[] {
  const note = schemaInstruction(schema).content;
  const [first, ...rest] = messages;
  if (first?.role === 'system') return [{ role: 'system', content: `${first.content}\n\n${note}` }, ...rest];
  return [{ role: 'system', content: note }, ...messages];
}

export function createOpenAiClient(opts: OpenAiClientOptions): LlmClient {
  const baseURL = opts.baseURL ?? DEFAULT_OPENAI_BASE_URL;
  const model = opts.model;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const ctx: FailureContext = { baseURL, model, secrets: [opts.apiKey] };
  const timeoutMs = opts.timeoutMs ?? 60_000;
  // Explicit baseURL: otherwise the SDK would silently read OPENAI_BASE_URL from the environment.
  const sdk = new OpenAI({ apiKey: opts.apiKey, baseURL, maxRetries: 0, timeout: timeoutMs });
  let jsonMode: JsonMode = 'json_schema';

  async function call(
    req: ChatRequest,
    messages: ChatMessage[],
    responseFormat?: ChatCompletionCreateParamsNonStreaming['response_format'],
  ): Promise<ChatResult> {
    const body: ChatCompletionCreateParamsNonStreaming = {
      model,
      messages,
      temperature: req.temperature ?? opts.temperature ?? 0.5,
    };
    const maxTokens = completionLimit(req.maxTokens, opts.maxTokens);
    if (maxTokens !== undefined) body.max_tokens = maxTokens;
    if (req.stop?.length) body.stop = req.stop.slice(0, 4);
    if (responseFormat) body.response_format = responseFormat;
    const started = Date.now();
    const res = await sdk.chat.completions
      .create(body, {
        signal: req.signal,
        headers: {
          [ROLE_HEADER]: req.role,
          ...(req.cacheKey ? { [CONVERSATION_HEADER]: req.cacheKey } : {}),
        },
      })
      .catch((err: unknown) => {
        // The SDK spots its timeout by the fetch error's name `AbortError`; when fetch comes from
        // another realm (Jest's VM sandbox) that name is lost and a timeout looks like a
        // connection failure. The elapsed time tells them apart everywhere.
        const timedOut = Date.now() - started >= timeoutMs * 0.95;
        if (err instanceof APIConnectionError && !(err instanceof APIConnectionTimeoutError) && timedOut) {
          throw new APIConnectionTimeoutError();
        }
        throw err;
      });
    const choice = res.choices[0];
    const text = choice?.message?.content ?? '';
    // Some compatible servers omit usage: estimate so budgets still see the tokens.
    const cached = res.usage?.prompt_tokens_details?.cached_tokens;
    const usage: Usage = res.usage
      ? {
          promptTokens: res.usage.prompt_tokens,
          completionTokens: res.usage.completion_tokens,
          ...(typeof cached === 'number' ? { evaluatedPromptTokens: res.usage.prompt_tokens - cached } : {}),
        }
      : {
          promptTokens: estimatePromptTokens(messages),
          completionTokens: estimateTokens(text),
          estimated: true,
        };
    const result: ChatResult = {
      text,
      usage,
      costUsd: costUsd(usage, opts.prices),
      model: res.model || model,
    };
    if (choice?.finish_reason) result.finishReason = choice.finish_reason;
    return result;
  }

  async function callStructured(
    req: ChatRequest,
    schemaName: string,
    schema: JsonSchema,
    messages: ChatMessage[],
  ) {
    for (;;) {
      const mode = jsonMode;
      try {
        if (mode === 'json_schema') {
          const name = schemaName.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'answer';
          const strict = opts.strictJsonSchema ?? false;
          return await call(req, messages, { type: 'json_schema', json_schema: { name, schema, strict } });
        }
        const prompted = withSchemaInstruction(messages, schema);
        return await call(req, prompted, mode === 'json_object' ? { type: 'json_object' } : undefined);
      } catch (err) {
        if (mode === 'prompt' || !rejectsResponseFormat(err)) throw err;
        jsonMode = NEXT_MODE[mode];
        warn(`LLM endpoint ${baseURL} rejected response_format ${mode}; using ${jsonMode} from now on`);
      }
    }
  }

  // Map transport errors to Temporal failures; let aborts (cancellation) and invalid output through.
  const mapped = <R>(p: Promise<R>): Promise<R> =>
    p.catch((err: unknown) => {
      if (err instanceof APIUserAbortError || err instanceof InvalidLlmOutputError) throw err;
      throw toTemporalFailure(err, ctx);
    });

  return {
    model,
    chat: (req) => mapped(call(req, req.messages)),
    structured: (req) => {
      const schema = jsonSchemaOf(req.decodingSchema ?? req.schema);
      return mapped(runStructured(req, (messages) => callStructured(req, req.schemaName, schema, messages)));
    },
  };
}
