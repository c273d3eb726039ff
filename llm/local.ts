/**
 * `LlmClient` on a local `.gguf` model through node-llama-cpp's prebuilt CPU binary: no API key,
 * no network. Structured output is constrained by a grammar made from the JSON schema, so the
 * answer is always schema-shaped JSON; zod still validates it (refinements, enums of unions).
 *
 * node-llama-cpp is ESM with top-level await, so it is loaded with a native `import()` on first
 * use. That works under node and tsx (how this project runs), not inside Jest's CommonJS sandbox:
 * tests drive this client in a child process.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type {
  ChatHistoryItem,
  Llama,
  LlamaChat,
  LlamaContext,
  LlamaGrammar,
  LlamaModel,
} from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { jsonSchemaOf, runStructured, type JsonSchema } from './structured';
import { LocalModelMissingError } from './local-model';
import type { ChatMessage, ChatRequest, ChatResult, LlmClient } from './types';

export interface LocalLlamaClientOptions {
  /** Path of a llama.cpp `.gguf` model file (see `defaultLocalModelPath()`). */
  modelPath: string;
  /** Sampling temperature; 0 is greedy. Default 0.5. */
  temperature?: number;
  /** Upper bound on completion tokens per call. Default 256. */
  maxTokens?: number;
  /** Context window in tokens (prompt + answer). Default 4096. */
  contextSize?: number;
  /**
   * CPU threads. Default: the physical math cores llama.cpp detects. Left to node-llama-cpp's
   * own default, a 2-core VM got 4 threads and ran 100x slower (0.4 instead of 45 tokens/s).
   */
  threads?: number;
}

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  chat: LlamaChat;
  grammars: Map<string, Promise<LlamaGrammar>>;
}

const KEEP = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'enum',
  'const',
  'description',
  'minLength',
  'maxLength',
  'oneOf',
  '$defs',
  '$ref',
  'minProperties',
  'maxProperties',
]);

/**
 * JSON Schema → the subset node-llama-cpp turns into a grammar: `anyOf` becomes `oneOf`, keywords
 * it does not know (pattern, minimum, …) are dropped (zod checks them afterwards), `{}` (any) becomes
 * any scalar.
 */
export function toGbnfSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toGbnfSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const src = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === 'anyOf') out.oneOf = toGbnfSchema(v);
    else if (k === 'format' && (v === 'date' || v === 'time' || v === 'date-time')) out.format = v;
    else if (k === 'properties' || k === '$defs') {
      out[k] = Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, toGbnfSchema(s)]));
    } else if (KEEP.has(k)) out[k] = typeof v === 'object' ? toGbnfSchema(v) : v;
  }
  if (!('type' in out || 'enum' in out || 'const' in out || 'oneOf' in out || '$ref' in out)) {
    out.type = ['string', 'number', 'boolean', 'null'];
  }
  return out;
}

async function importNodeLlamaCpp() {
  try {
    return await import('node-llama-cpp');
  } catch (err) {
    if (/ES Module|ERR_REQUIRE_(ASYNC_MODULE|ESM)|outside a module/.test(String(err))) {
      throw new Error(
        'node-llama-cpp is an ES module with top-level await: it loads under node/tsx but not in a ' +
          "CommonJS sandbox such as Jest's; run the local client in a child process there",
        { cause: err },
      );
    }
    throw err;
  }
}

function toHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: m.role, text: m.content },
  );
  history.push({ type: 'model', response: [] }); // the answer to generate
  return history;
}

/** A client for a local model; the model loads on the first call (or `preflight`). */
export function createLocalLlamaClient(
  opts: LocalLlamaClientOptions,
): LlmClient & { close(): Promise<void> } {
  if (!existsSync(opts.modelPath)) {
    throw new LocalModelMissingError(`local LLM model file ${opts.modelPath} does not exist`);
  }
  const model = `local:${basename(opts.modelPath)}`;
  let loading: Promise<Loaded> | undefined;
  // One context sequence, so calls run one at a time (a CPU model gains nothing from overlap).
  let tail: Promise<unknown> = Promise.resolve();

  const load = () =>
    (loading ??= (async () => {
      const { getLlama, LlamaChat, LlamaLogLevel } = await importNodeLlamaCpp();
      // gpu:false + build:'never': use the prebuilt CPU binary, never download or compile.
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      const lm = await llama.loadModel({ modelPath: opts.modelPath });
      const threads = opts.threads ?? llama.cpuMathCores;
      const context = await lm.createContext({ contextSize: opts.contextSize ?? 4096, threads });
      const chat = new LlamaChat({ contextSequence: context.getSequence() });
      return { llama, model: lm, context, chat, grammars: new Map() };
    })());

  function grammarFor(l: Loaded, schema: JsonSchema): Promise<LlamaGrammar> {
    const gbnf = toGbnfSchema(schema);
    const key = JSON.stringify(gbnf);
    let g = l.grammars.get(key);
    // The schema is only known at run time; node-llama-cpp validates it when building the grammar.
    if (!g) l.grammars.set(key, (g = l.llama.createGrammarForJsonSchema(gbnf as never)));
    return g;
  }

  async function generate(
    req: ChatRequest,
    messages: ChatMessage[],
    schema?: JsonSchema,
  ): Promise<ChatResult> {
    const l = await load();
    const history = toHistory(messages);
    const grammar = schema ? await grammarFor(l, schema) : undefined;
    const seq = l.chat.sequence;
    const before = seq.tokenMeter.getState();
    const res = await l.chat.generateResponse(history, {
      maxTokens: req.maxTokens ?? opts.maxTokens ?? 256,
      temperature: req.temperature ?? opts.temperature ?? 0.5,
      grammar,
      signal: req.signal,
    });
    // Prompt tokens of the whole rendered history (the meter only counts tokens not already cached).
    const prompt = l.chat.chatWrapper.generateContextState({ chatHistory: history }).contextText;
    const usage = {
      promptTokens: prompt.tokenize(l.model.tokenizer).length,
      completionTokens: seq.tokenMeter.diff(before).usedOutputTokens,
    };
    const stop = res.metadata.stopReason;
    const finishReason = stop === 'maxTokens' ? 'length' : stop === 'abort' ? 'abort' : 'stop'; // OpenAI's words
    return { text: res.response, usage, costUsd: 0, model, finishReason };
  }

  const serial = <R>(fn: () => Promise<R>): Promise<R> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };

  return {
    model,
    chat: (req) => serial(() => generate(req, req.messages)),
    structured: (req) => {
      const schema = jsonSchemaOf(req.decodingSchema ?? req.schema);
      return runStructured(req, (messages) => serial(() => generate(req, messages, schema)));
    },
    preflight: async () => {
      await load();
    },
    close: async () => {
      if (!loading) return;
      const l = await loading.catch(() => undefined);
      loading = undefined;
      if (!l) return;
      await l.context.dispose();
      await l.model.dispose();
      await l.llama.dispose();
    },
  };
}
