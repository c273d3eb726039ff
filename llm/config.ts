/**
 * LLM configuration. The config object travels in Temporal payloads and is stored with runs, so
 * it never holds a secret: the API key is read from the environment only, by `createLlmClient`,
 * on the worker that makes the calls.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { LlmFailureType, LlmOutputTruncatedError, toTemporalFailure } from './errors';
import { createLocalLlamaClient } from './local';
import { LocalModelMissingError, resolveLocalModel } from './local-model';
import { createOpenAiClient, DEFAULT_OPENAI_BASE_URL } from './openai';
import type { LlmClient } from './types';

const Prices = z.object({
  /** USD per million prompt tokens. */
  promptPerMTok: z.number().nonnegative(),
  /** USD per million completion tokens. */
  completionPerMTok: z.number().nonnegative(),
});

export const LlmConfigSchema = z
  .object({
    /** `openai`: any OpenAI-compatible endpoint. `local`: a .gguf model via node-llama-cpp. Default `openai`. */
    provider: z.enum(['openai', 'local']).default('openai'),
    /** openai: the model name (required). local: a catalogued model name or a .gguf path (default: `$DST_SYNTH_LOCAL_MODEL`, else Qwen2.5-Coder-1.5B-Instruct; see `resolveLocalModel`). */
    model: z.string().min(1).optional(),
    /** openai only: endpoint base URL. Default: `$OPENAI_BASE_URL`, else OpenAI's. */
    baseURL: z
      .url()
      .refine((u) => !new URL(u).username && !new URL(u).password && !hasKeyParam(new URL(u)), {
        message:
          'put credentials in OPENAI_API_KEY, not in the base URL (the config is stored in plain text)',
      })
      .optional(),
    /** Sampling temperature. Default 0.5 (the paper's). */
    temperature: z.number().min(0).max(2).default(0.5),
    /** Upper bound on completion tokens per call. Default 512. */
    maxTokens: z.number().int().positive().default(512),
    /** openai only: per-request timeout in milliseconds. Default 60000. */
    timeoutMs: z.number().int().positive().default(60_000),
    /** openai only: USD per million tokens, for cost reports. Default: none (cost 0). */
    prices: Prices.optional(),
    /** local only: context window in tokens. Default 4096. */
    contextSize: z.number().int().positive().optional(),
    /**
     * local only: CPU threads. Default: `$DST_SYNTH_LLM_THREADS`, else all math cores, or 1
     * when the CPU is already busy (see `defaultThreads` in llm/local.ts).
     */
    threads: z.number().int().positive().max(256).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.provider === 'openai' && !c.model) {
      ctx.addIssue({
        code: 'custom',
        path: ['model'],
        message: 'provider openai needs a model name, e.g. "gpt-4o-mini"',
      });
    }
  });

/** Parsed config, defaults filled in. */
export type LlmConfig = z.output<typeof LlmConfigSchema>;
/** What users write: everything but the provider's essentials is optional. */
export type LlmConfigInput = z.input<typeof LlmConfigSchema>;

const configFailure = (message: string) =>
  ApplicationFailure.create({ message, type: LlmFailureType.Config, nonRetryable: true });

const SECRET_KEYS = /^(api[_-]?key|key|token|secret|password|authorization)$/i;

/** A credential in the query string (`?api-key=…`, `?key=…`, `?access_token=…`); `api-version` is fine. */
function hasKeyParam(u: URL): boolean {
  return [...u.searchParams.keys()].some(
    (k) => SECRET_KEYS.test(k) || /^((access|auth)[_-]?token|auth)$/i.test(k),
  );
}

/** Validates an LLM config; refuses one that carries a secret, with a message saying where it goes. */
export function parseLlmConfig(input: unknown): LlmConfig {
  if (typeof input === 'object' && input !== null) {
    const leaked = Object.keys(input).find((k) => SECRET_KEYS.test(k));
    if (leaked) {
      throw configFailure(
        `LLM config field "${leaked}" is not allowed: the API key is read from the environment variable OPENAI_API_KEY only (the config is stored in Temporal histories)`,
      );
    }
  }
  const parsed = LlmConfigSchema.safeParse(input);
  if (!parsed.success) throw configFailure(`invalid LLM config:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** `$DST_SYNTH_LLM_THREADS` as a positive integer, else undefined (llm/local.ts decides). */
function threadsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const n = Number(env.DST_SYNTH_LLM_THREADS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * The local client's errors are plain (it has no transport errors to map), and a plain error
 * thrown by an activity is retryable: a truncated answer must reach Temporal as the
 * non-retryable failure that says to raise `maxTokens` (the OpenAI client maps it itself).
 * Exported for tests.
 */
export function truncationIsFatal(client: LlmClient): LlmClient {
  const fatal = (err: unknown): never => {
    throw err instanceof LlmOutputTruncatedError ? toTemporalFailure(err, { model: client.model }) : err;
  };
  return { ...client, structured: (req) => client.structured(req).catch(fatal) };
}

/**
 * Builds the client for a config. Secrets and the endpoint come from `env`: `OPENAI_API_KEY`
 * (required for provider openai) and `OPENAI_BASE_URL` (used when the config has no `baseURL`).
 * For local, `DST_SYNTH_LOCAL_MODEL` is honoured through `resolveLocalModel`.
 */
export function createLlmClient(config: LlmConfigInput, env: NodeJS.ProcessEnv = process.env): LlmClient {
  const c = parseLlmConfig(config);
  if (c.provider === 'local') {
    let modelPath: string;
    try {
      modelPath = resolveLocalModel(c.model, env);
    } catch (err) {
      // A missing model file does not appear by retrying.
      if (err instanceof LocalModelMissingError) throw configFailure(err.message);
      throw err;
    }
    return truncationIsFatal(
      createLocalLlamaClient({
        modelPath,
        temperature: c.temperature,
        maxTokens: c.maxTokens,
        contextSize: c.contextSize,
        threads: c.threads ?? threadsFromEnv(env),
      }),
    );
  }
  const model = c.model ?? '';
  const apiKey = env.OPENAI_API_KEY?.trim();
  const baseURL = c.baseURL ?? (env.OPENAI_BASE_URL?.trim() || DEFAULT_OPENAI_BASE_URL);
  if (!apiKey) {
    throw configFailure(
      `no API key for the LLM endpoint ${baseURL}: set the environment variable OPENAI_API_KEY ` +
        '(for a local server that ignores keys, any value works, e.g. OPENAI_API_KEY=none), ' +
        'or use provider "local" for the bundled CPU model (Qwen2.5-Coder-1.5B-Instruct)',
    );
  }
  return createOpenAiClient({
    apiKey,
    baseURL,
    model, // the schema requires it for provider openai
    temperature: c.temperature,
    maxTokens: c.maxTokens,
    timeoutMs: c.timeoutMs,
    prices: c.prices,
  });
}
