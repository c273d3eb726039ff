/**
 * The local llama.cpp client. With the default model assembled (set-up script) this makes a real
 * structured call; without it, it checks the error that tells the user how to get one, and says
 * so on stderr — never a silent skip. DST_SYNTH_REQUIRE_LOCAL_MODEL=1 turns a missing model into
 * a failure (for CI, where the set-up script must have provided it).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createLocalLlamaClient, defaultThreads, SequencePool, toGbnfSchema } from '../../llm/local';
import {
  catalogModelPath,
  LOCAL_MODEL,
  LocalModelMissingError,
  LOCAL_MODEL_ENV,
  resolveLocalModel,
} from '../../llm/local-model';
import { jsonSchemaOf } from '../../llm/structured';
import { ProbeSchema } from '../helpers/local-llm-probe';

const root = resolve(__dirname, '../..');
const probe = join(root, 'tests/helpers/local-llm-probe.ts');

// The fast catalogued model: plumbing only (the default Qwen is exercised by the benchmarks).
function findModel(): { path: string } | { error: LocalModelMissingError } {
  try {
    return { path: resolveLocalModel(LOCAL_MODEL.SMOLLM2_135M) };
  } catch (err) {
    if (err instanceof LocalModelMissingError) return { error: err };
    throw err;
  }
}
const found = findModel();

describe('resolveLocalModel (model selection)', () => {
  const empty = mkdtempSync(join(tmpdir(), 'dst-llm-'));
  const withModels = mkdtempSync(join(tmpdir(), 'dst-llm-'));
  for (const name of Object.values(LOCAL_MODEL)) {
    const file = catalogModelPath(name, withModels);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'GGUF');
  }

  test('nothing chosen: the instruction-tuned Qwen2.5-Coder-1.5B the set-up assembled', () => {
    expect(resolveLocalModel(undefined, {}, withModels)).toBe(
      join(withModels, '.venv/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'),
    );
  });

  test('a catalogued name, from --model or the environment', () => {
    const small = join(withModels, '.venv/models/smollm2-135m-instruct-q4_1.gguf');
    expect(resolveLocalModel('smollm2-135m-instruct', {}, withModels)).toBe(small);
    expect(resolveLocalModel(undefined, { [LOCAL_MODEL_ENV]: 'smollm2-135m-instruct' }, withModels)).toBe(
      small,
    );
  });

  test('--model wins over the environment; a path is taken as is', () => {
    const file = join(empty, 'x.gguf');
    writeFileSync(file, 'GGUF');
    expect(resolveLocalModel(file, { [LOCAL_MODEL_ENV]: 'smollm2-135m-instruct' }, withModels)).toBe(file);
    expect(resolveLocalModel(undefined, { [LOCAL_MODEL_ENV]: file }, '/nowhere')).toBe(file);
  });

  test('default model not assembled: a clear error saying how to get it', () => {
    expect(() => resolveLocalModel(undefined, {}, empty)).toThrow(LocalModelMissingError);
    expect(() => resolveLocalModel(undefined, {}, empty)).toThrow(
      /the local model qwen2\.5-coder-1\.5b-instruct .* is not there\. Run the set-up \(make setup\)/,
    );
  });

  test('a path pointing nowhere names where it came from and the catalogued names', () => {
    expect(() => resolveLocalModel(undefined, { [LOCAL_MODEL_ENV]: '/nope/m.gguf' }, empty)).toThrow(
      `${LOCAL_MODEL_ENV}=/nope/m.gguf does not exist: point it at a .gguf model file, or name a catalogued model (qwen2.5-coder-1.5b-instruct, smollm2-135m-instruct)`,
    );
    expect(() => resolveLocalModel('/nope/m.gguf', {}, empty)).toThrow('--model=/nope/m.gguf does not exist');
  });

  test('a missing model file is refused at creation', () => {
    expect(() => createLocalLlamaClient({ modelPath: join(empty, 'none.gguf') })).toThrow(
      LocalModelMissingError,
    );
  });
});

test('threads: every core on an idle CPU, one when the load already fills the cores', () => {
  expect(defaultThreads(2, 0.3)).toBe(2);
  expect(defaultThreads(8, 7.9)).toBe(8);
  expect(defaultThreads(2, 2)).toBe(1);
  expect(defaultThreads(2, 13.5)).toBe(1);
});

describe('SequencePool', () => {
  const slots = () =>
    [0, 1].map(() => ({ busy: false, lastUsed: 0 }) as { key?: string; busy: boolean; lastUsed: number });

  test('a key gets its own sequence back; others get the least recently used', async () => {
    const pool = new SequencePool(slots());
    const a = await pool.acquire('g1/user');
    pool.release(a);
    const b = await pool.acquire('g1/labeller');
    expect(b).not.toBe(a);
    pool.release(b);
    expect(await pool.acquire('g1/user')).toBe(a);
    pool.release(a);
    const c = await pool.acquire('g2/user'); // evicts the least recently used: b
    expect(c).toBe(b);
  });

  test('a call waits for its own busy sequence, and for any when all are busy', async () => {
    const pool = new SequencePool(slots());
    const a = await pool.acquire('k');
    const b = await pool.acquire('other');
    let got: unknown;
    const waiting = pool.acquire('k').then((s) => (got = s));
    const third = pool.acquire('new');
    await new Promise((r) => setImmediate(r));
    expect(got).toBeUndefined();
    pool.release(a);
    await waiting;
    expect(got).toBe(a);
    pool.release(b);
    expect(await third).toBe(b);
  });
});

test('zod schema becomes a grammar-ready JSON schema', () => {
  const schema = z.object({
    area: z.enum(['north', 'south']).nullable(),
    stars: z.number().int().min(1),
    name: z.string().regex(/^[a-z]+$/),
    extra: z.record(z.string(), z.string()),
  });
  expect(toGbnfSchema(jsonSchemaOf(schema))).toEqual({
    type: 'object',
    properties: {
      area: { oneOf: [{ type: 'string', enum: ['north', 'south'] }, { type: 'null' }] },
      stars: { type: 'integer' },
      name: { type: 'string' },
      extra: { type: 'object', additionalProperties: { type: 'string' } },
    },
    required: ['area', 'stars', 'name', 'extra'],
    additionalProperties: false,
  });
});

test("inside Jest's sandbox the client fails with an explanation, not a module error", async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'dst-llm-')), 'm.gguf');
  writeFileSync(file, 'GGUF'); // never read: loading node-llama-cpp fails first
  const client = createLocalLlamaClient({ modelPath: file });
  await expect(client.chat({ role: 'user', messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow(
    /node-llama-cpp is an ES module.*child process/,
  );
});

if ('path' in found) {
  const modelPath = found.path;
  test('a real structured call on the local model (child process)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--require', 'tsx/cjs', probe, modelPath],
      {
        cwd: root,
        timeout: 110_000,
      },
    );
    const r = JSON.parse(stdout) as {
      loadMs: number;
      structured: {
        value: unknown;
        usage: { promptTokens: number; completionTokens: number };
        model: string;
      };
      chat: { text: string; finishReason: string; usage: { completionTokens: number } };
      cut: { finishReason: string; usage: { completionTokens: number } };
      stopped: { text: string; finishReason: string; usage: { completionTokens: number } };
      truncated: { name: string; message: string };
      cold: { promptTokens: number; evaluatedPromptTokens: number };
      warm: { promptTokens: number; evaluatedPromptTokens: number };
    };
    // The grammar forces schema-shaped JSON (the 135M model's values are not to be trusted).
    expect(ProbeSchema.safeParse(r.structured.value).success).toBe(true);
    expect(r.structured.usage.promptTokens).toBeGreaterThan(10);
    expect(r.structured.usage.completionTokens).toBeGreaterThan(0);
    expect(r.structured.model).toBe(`local:${modelPath.split('/').pop()}`);
    expect(r.chat.usage.completionTokens).toBeLessThanOrEqual(8);
    // node-llama-cpp's stop reasons in OpenAI's words: the limit is 'length', the end 'stop'.
    expect(r.chat.finishReason).toBe(r.chat.usage.completionTokens < 8 ? 'stop' : 'length');
    expect(r.cut).toMatchObject({ finishReason: 'length', usage: { completionTokens: 3 } });
    // Three long sentences asked, stopped at the first space: one word, a few tokens decoded.
    expect(r.stopped.finishReason).toBe('stop');
    expect(r.stopped.text.trim()).not.toContain(' ');
    expect(r.stopped.text.trim().length).toBeGreaterThan(0);
    expect(r.stopped.usage.completionTokens).toBeLessThan(8);
    expect(r.truncated.name).toBe('LlmOutputTruncatedError');
    expect(r.truncated.message).toMatch(/cut off at maxTokens = 2 .*raise "maxTokens"/);
    // KV-cache reuse per conversation key: the second call evaluates only what it adds.
    expect(r.cold.evaluatedPromptTokens).toBe(r.cold.promptTokens);
    expect(r.warm.promptTokens).toBeGreaterThan(r.cold.promptTokens);
    expect(r.warm.evaluatedPromptTokens).toBeLessThan(r.warm.promptTokens - r.cold.promptTokens + 10);
  });
} else {
  const missing = found.error;
  test('no local model: the error tells how to provide one (the real-model test did not run)', () => {
    process.stderr.write(`llm-local: real-model test not run: ${missing.message}\n`);
    expect(process.env.DST_SYNTH_REQUIRE_LOCAL_MODEL).not.toBe('1');
    expect(missing.message).toMatch(new RegExp(`${LOCAL_MODEL_ENV}|make setup`));
  });
}
