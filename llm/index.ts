/** The LLM layer: one `LlmClient` interface, an OpenAI-compatible and a local implementation. */
export type * from './types';
export {
  createLlmClient,
  parseLlmConfig,
  LlmConfigSchema,
  type LlmConfig,
  type LlmConfigInput,
} from './config';
export {
  InvalidLlmOutputError,
  LlmFailureType,
  LlmOutputTruncatedError,
  preflight,
  retryAfterMs,
  toTemporalFailure,
  type FailureContext,
} from './errors';
export { createOpenAiClient, DEFAULT_OPENAI_BASE_URL, ROLE_HEADER, type OpenAiClientOptions } from './openai';
export { createLocalLlamaClient, type LocalLlamaClientOptions } from './local';
export {
  DEFAULT_LOCAL_MODEL,
  defaultLocalModelPath,
  LOCAL_MODEL,
  LocalModelMissingError,
  LOCAL_MODEL_ENV,
  resolveLocalModel,
} from './local-model';
export { UsageMeter, estimateTokens, costUsd, type Prices, type UsageTotals } from './usage';
