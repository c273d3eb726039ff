import { existsSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { createLlmClient, parseLlmConfig } from '../../llm/config';
import { LlmFailureType } from '../../llm/errors';
import { catalogModelPath, DEFAULT_LOCAL_MODEL } from '../../llm/local-model';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';

let server: LlmServer;
beforeAll(async () => {
  server = await startLlmServer({ apiKey: 'sk-env-key-123456', responder: () => 'hi' });
});
afterAll(() => server.close());

function configError(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(LlmFailureType.Config);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    return err as ApplicationFailure;
  }
  throw new Error('expected a config error');
}

test('defaults are filled in', () => {
  expect(parseLlmConfig({ model: 'gpt-4o-mini' })).toEqual({
    provider: 'openai',
    model: 'gpt-4o-mini',
    temperature: 0.5,
    maxTokens: 512,
    timeoutMs: 60_000,
  });
});

test('invalid configs are refused with the field named', () => {
  expect(configError(() => parseLlmConfig({ provider: 'openai' })).message).toMatch(/model/);
  expect(configError(() => parseLlmConfig({ model: 'm', temperature: 5 })).message).toMatch(/temperature/);
  expect(configError(() => parseLlmConfig({ model: 'm', bogus: 1 })).message).toMatch(/bogus/);
});

test('the config never carries a secret', () => {
  const f = configError(() => parseLlmConfig({ model: 'm', apiKey: 'sk-in-config-999' }));
  expect(f.message).toMatch(/OPENAI_API_KEY/);
  expect(f.message).not.toContain('sk-in-config');
  const u = configError(() => parseLlmConfig({ model: 'm', baseURL: 'https://user:pw@example.test/v1' }));
  expect(u.message).toMatch(/credentials/);
  expect(u.message).not.toContain('pw@');
  for (const q of [
    'api-key=sk-q-1',
    'api_key=sk-q-1',
    'key=sk-q-1',
    'access_token=sk-q-1',
    'x=1&token=sk-q-1',
  ]) {
    const k = configError(() => parseLlmConfig({ model: 'm', baseURL: `https://example.test/v1?${q}` }));
    expect(k.message).toMatch(/credentials/);
    expect(k.message).not.toContain('sk-q-1');
  }
  // A query without a credential (Azure's api-version) is kept exactly as written.
  expect(parseLlmConfig({ model: 'm', baseURL: 'https://x.test/v1?api-version=2024-06-01' }).baseURL).toBe(
    'https://x.test/v1?api-version=2024-06-01',
  );
});

test('provider openai without OPENAI_API_KEY: a clear error', () => {
  const f = configError(() => createLlmClient({ model: 'test-model' }, { OPENAI_BASE_URL: server.url }));
  expect(f.message).toContain(
    `no API key for the LLM endpoint ${server.url}: set the environment variable OPENAI_API_KEY`,
  );
});

test('key and base URL come from the environment', async () => {
  const env = { OPENAI_API_KEY: 'sk-env-key-123456', OPENAI_BASE_URL: server.url };
  const client = createLlmClient({ model: 'test-model', maxTokens: 20 }, env);
  const r = await client.chat({ role: 'user', messages: [{ role: 'user', content: 'hello' }] });
  expect(r.text).toBe('hi');
  expect(server.requests.at(-1)!.body!.max_tokens).toBe(20);
  // an explicit baseURL in the config wins over OPENAI_BASE_URL
  const wrong = createLlmClient(
    { model: 'test-model', baseURL: server.url },
    { ...env, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' },
  );
  await expect(
    wrong.chat({ role: 'user', messages: [{ role: 'user', content: 'x' }] }),
  ).resolves.toMatchObject({ text: 'hi' });
});

test('provider local with a missing model file: a clear, non-retryable error', () => {
  const f = configError(() => createLlmClient({ provider: 'local', model: '/nope/model.gguf' }, {}));
  expect(f.message).toContain('--model=/nope/model.gguf does not exist');
  expect(f.nonRetryable).toBe(true);
});

test('provider local without a model: the instruction-tuned default the set-up assembled', () => {
  // `make setup` assembles it; `make test` does not (the tests need only the small model), and
  // then the default says how to get it.
  if (existsSync(catalogModelPath(DEFAULT_LOCAL_MODEL))) {
    const client = createLlmClient({ provider: 'local' }, {}); // nothing is loaded before a call
    expect(client.model).toBe('local:qwen2.5-coder-1.5b-instruct-q4_k_m.gguf');
  } else {
    const f = configError(() => createLlmClient({ provider: 'local' }, {}));
    expect(f.message).toMatch(
      /local model qwen2\.5-coder-1\.5b-instruct .* is not there\. Run the set-up \(make setup\)/,
    );
    expect(f.nonRetryable).toBe(true);
  }
  expect(createLlmClient({ provider: 'local', model: 'smollm2-135m-instruct' }, {}).model).toBe(
    'local:smollm2-135m-instruct-q4_1.gguf',
  );
});
