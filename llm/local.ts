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
import { loadavg } from 'node:os';
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
import {
  completionLimit,
  type ChatMessage,
  type ChatRequest,
  type ChatResult,
  type LlmClient,
} from './types';

export interface LocalLlamaClientOptions {
  /** Path of a llama.cpp `.gguf` model file (see `resolveLocalModel()`). */
  modelPath: string;
  /** Sampling temperature; 0 is greedy. Default 0.5. */
  temperature?: number;
  /** Upper bound on completion tokens per call. Default 256. */
  maxTokens?: number;
  /** Context window in tokens (prompt + answer) of each sequence. Default 4096. */
  contextSize?: number;
  /**
   * KV-cache sequences of the one context, in tokens `contextSize` each. Calls with a
   * `cacheKey` keep a sequence (least recently used is reassigned), so a role's next call in a
   * dialogue evaluates only its new tokens; calls on different sequences are decoded together
   * in one batch (concurrent dialogues). Default 8 (two dialogues × four roles).
   */
  sequences?: number;
  /**
   * CPU threads. Default: `defaultThreads` — the physical math cores llama.cpp detects, or 1
   * when the CPU is already busy. Left to node-llama-cpp's own default, a 2-core VM got 4
   * threads and ran 100x slower (0.4 instead of 45 tokens/s).
   */
  threads?: number;
  /**
   * Prompt-lookup speculative decoding (node-llama-cpp's `InputLookupTokenPredictor`): draft
   * tokens are copied from the prompt where the answer continues a run of it (names, values, JSON
   * keys) and verified in one batch. Drafts are only kept where the model would pick them, so the
   * answers keep their distribution (measured 5.9 → 8.6 tokens/s at 2 threads). Default true.
   */
  inputLookup?: boolean;
}

interface Slot {
  chat: LlamaChat;
  key?: string;
  busy: boolean;
  lastUsed: number;
}

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  pool: SequencePool<Slot>;
  grammars: Map<string, Promise<LlamaGrammar>>;
}

/**
 * Hands out the context's sequences: the one that served `key` last if it is free, else the
 * least recently used free one. A sequence serves one call at a time; callers wait for one.
 */
export class SequencePool<S extends { key?: string; busy: boolean; lastUsed: number }> {
  private clock = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly slots: S[]) {}

  async acquire(key: string | undefined): Promise<S> {
    for (;;) {
      const slot = this.pick(key);
      if (slot) {
        slot.busy = true;
        slot.key = key;
        slot.lastUsed = ++this.clock;
        return slot;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  release(slot: S): void {
    slot.busy = false;
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }

  private pick(key: string | undefined): S | undefined {
    if (key !== undefined) {
      const own = this.slots.find((s) => s.key === key);
      // Wait for our own sequence rather than start over elsewhere: its cache is the point.
      if (own) return own.busy ? undefined : own;
    }
    let best: S | undefined;
    for (const s of this.slots) if (!s.busy && (!best || s.lastUsed < best.lastUsed)) best = s;
    return best;
  }
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

/**
 * Threads for llama.cpp: all math cores on an idle machine; 1 when the 1-minute load average
 * already fills the cores. llama.cpp's threads spin-wait for each other at every step, so on an
 * oversubscribed CPU each step waits for a descheduled thread: 30 tokens of SmolLM2-135M took
 * 141 s with 2 threads and 10.7 s with 1 on 2 cores at load 13 (measured here).
 */
export function defaultThreads(cores: number, load: number): number {
  return load >= cores ? 1 : Math.max(1, cores);
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

  const load = () =>
    (loading ??= (async () => {
      const { getLlama, LlamaChat, LlamaLogLevel, InputLookupTokenPredictor } = await importNodeLlamaCpp();
      // gpu:false + build:'never': use the prebuilt CPU binary, never download or compile.
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      const lm = await llama.loadModel({ modelPath: opts.modelPath });
      const threads = opts.threads ?? defaultThreads(llama.cpuMathCores, loadavg()[0] ?? 0);
      const sequences = opts.sequences ?? 8;
      const context = await lm.createContext({ contextSize: opts.contextSize ?? 4096, sequences, threads });
      const slots: Slot[] = Array.from({ length: sequences }, () => ({
        chat: new LlamaChat({
          contextSequence: context.getSequence(
            (opts.inputLookup ?? true) ? { tokenPredictor: new InputLookupTokenPredictor() } : {},
          ),
        }),
        busy: false,
        lastUsed: 0,
      }));
      return { llama, model: lm, context, pool: new SequencePool(slots), grammars: new Map() };
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
    const slot = await l.pool.acquire(req.cacheKey);
    try {
      const { chat } = slot;
      const seq = chat.sequence;
      const prompt = chat.chatWrapper.generateContextState({ chatHistory: history }).contextText;
      const promptTokens = prompt.tokenize(l.model.tokenizer);
      // The cached prefix llama.cpp will keep (LlamaChat erases the sequence after it).
      const reused = seq.compareContextTokens(promptTokens).firstDifferentIndex;
      const res = await chat.generateResponse(history, {
        maxTokens: completionLimit(req.maxTokens, opts.maxTokens) ?? 256,
        temperature: req.temperature ?? opts.temperature ?? 0.5,
        grammar,
        signal: req.signal,
        ...(req.stop?.length ? { customStopTriggers: req.stop } : {}),
      });
      const usage = {
        promptTokens: promptTokens.length,
        evaluatedPromptTokens: promptTokens.length - Math.min(reused, promptTokens.length),
        // The answer's own tokens: the meter's output count also holds every draft token the
        // input-lookup predictor proposed and the model rejected (28 metered for a 13-token turn).
        completionTokens: l.model.tokenize(res.response).length,
      };
      const stop = res.metadata.stopReason;
      const finishReason = stop === 'maxTokens' ? 'length' : stop === 'abort' ? 'abort' : 'stop'; // OpenAI's words
      return { text: res.response, usage, costUsd: 0, model, finishReason };
    } finally {
      l.pool.release(slot);
    }
  }

  return {
    model,
    chat: (req) => generate(req, req.messages),
    structured: (req) => {
      const schema = jsonSchemaOf(req.decodingSchema ?? req.schema);
      return runStructured(req, (messages) => generate(req, messages, schema));
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
