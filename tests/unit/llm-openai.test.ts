import { ApplicationFailure } from '@temporalio/common';
import { APIUserAbortError } from 'openai';
import { z } from 'zod';
import { InvalidLlmOutputError, LlmFailureType, preflight, retryAfterMs } from '../../llm/errors';
import { createOpenAiClient, type OpenAiClientOptions } from '../../llm/openai';
import { UsageMeter } from '../../llm/usage';
import type { LlmClient } from '../../llm/types';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';

const KEY = 'sk-test-0123456789abcdefSECRET';
const Slots = z.object({ area: z.enum(['north', 'south', 'centre']), stars: z.number().int() });
const ask = [{ role: 'user' as const, content: 'I want a 4 star hotel in the north.' }];

const responder = (r: { structured: boolean; role?: string }) =>
  r.structured ? { area: 'north', stars: 4 } : `hello from ${r.role ?? 'nobody'}`;
let server: LlmServer;
const warnings: string[] = [];
const client = (o: Partial<OpenAiClientOptions> = {}): LlmClient =>
  createOpenAiClient({
    apiKey: KEY,
    baseURL: server.url,
    model: 'test-model',
    warn: (m) => warnings.push(m),
    ...o,
  });

/** Runs `fn`, expects an ApplicationFailure, returns it. */
async function failureOf(fn: () => Promise<unknown>): Promise<ApplicationFailure> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  const f = err as ApplicationFailure;
  expect(f.message).not.toContain(KEY);
  expect(f.message).not.toMatch(/sk-/);
  expect(JSON.stringify(f.details)).not.toMatch(/sk-/);
  return f;
}

beforeAll(async () => {
  server = await startLlmServer({ apiKey: KEY, responder });
});
beforeEach(() => {
  server.reset();
  server.setResponder(responder);
  warnings.length = 0;
});
afterAll(() => server.close());

describe('openai client over loopback HTTP', () => {
  test('plain chat sends the role header and returns usage and cost', async () => {
    const c = client({ prices: { promptPerMTok: 2, completionPerMTok: 8 } });
    const r = await c.chat({ role: 'user-sim', messages: ask, maxTokens: 50 });
    expect(r.text).toBe('hello from user-sim');
    expect(r.model).toBe('test-model');
    expect(r.finishReason).toBe('stop');
    expect(r.usage.promptTokens).toBeGreaterThan(0);
    expect(r.usage.completionTokens).toBe(Math.ceil('hello from user-sim'.length / 4));
    expect(r.costUsd).toBeCloseTo((r.usage.promptTokens * 2 + r.usage.completionTokens * 8) / 1e6, 12);
    expect(server.roleCounts()).toEqual({ 'user-sim': 1 });
    const body = server.requests[0]!.body!;
    expect(body.temperature).toBe(0.5);
    expect(body.max_tokens).toBe(50);
    expect(body.stop).toBeUndefined();
  });

  test("a request's maxTokens only lowers the client's configured limit", async () => {
    await client({ maxTokens: 20 }).chat({ role: 'user', messages: ask, maxTokens: 72 });
    expect(server.requests.at(-1)!.body!.max_tokens).toBe(20);
    await client({ maxTokens: 100 }).chat({ role: 'user', messages: ask, maxTokens: 72 });
    expect(server.requests.at(-1)!.body!.max_tokens).toBe(72);
  });

  test('stop sequences go out as `stop`, at most the four OpenAI takes', async () => {
    await client().chat({
      role: 'user',
      messages: ask,
      stop: ['\nAgent:', '\nYou:', '\nVisitor:', '\nUser:', '\nX:'],
    });
    expect(server.requests.at(-1)!.body!.stop).toEqual(['\nAgent:', '\nYou:', '\nVisitor:', '\nUser:']);
  });

  test('usage is estimated when the server reports none, and a meter sums per dialogue', async () => {
    const quiet = await startLlmServer({ reportUsage: false });
    try {
      const c = createOpenAiClient({ apiKey: KEY, baseURL: quiet.url, model: 'test-model' });
      const meter = new UsageMeter();
      meter.add(await c.chat({ role: 'user', messages: ask }));
      meter.add(await c.chat({ role: 'system', messages: ask }));
      const t = meter.totals;
      expect(t).toMatchObject({ calls: 2, estimatedCalls: 2, completionTokens: 2, costUsd: 0 });
      expect(t.promptTokens).toBe(2 * (4 + Math.ceil(ask[0]!.content.length / 4)));
    } finally {
      await quiet.close();
    }
  });

  test('structured: json_schema response_format built from zod, value validated', async () => {
    const r = await client().structured({
      role: 'labeller',
      messages: ask,
      schema: Slots,
      schemaName: 'hotel slots',
    });
    expect(r.value).toEqual({ area: 'north', stars: 4 });
    expect(r.calls).toBe(1);
    const format = server.requests[0]!.body!.response_format as {
      type: string;
      json_schema: Record<string, unknown>;
    };
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.name).toBe('hotel_slots');
    expect(format.json_schema.strict).toBe(false);
    expect(format.json_schema.schema).toMatchObject({ type: 'object', required: ['area', 'stars'] });
  });

  test('structured: fenced JSON with prose is accepted', async () => {
    server.setResponder(() => 'Here you go:\n```json\n{"area": "south", "stars": 3}\n```');
    const r = await client().structured({ role: 'labeller', messages: ask, schema: Slots, schemaName: 's' });
    expect(r.value).toEqual({ area: 'south', stars: 3 });
  });

  test('structured: an invalid answer is retried once with the validation error', async () => {
    server.malformedJson();
    const r = await client().structured({ role: 'labeller', messages: ask, schema: Slots, schemaName: 's' });
    expect(r.value).toEqual({ area: 'north', stars: 4 });
    expect(r.calls).toBe(2);
    expect(server.total).toBe(2);
    const retry = server.requests[1]!.messages!;
    expect(retry).toHaveLength(3);
    expect(retry[1]!.role).toBe('assistant');
    expect(retry[2]!.content).toMatch(/not valid.*not valid JSON/s);
    // usage of both calls is summed: the retry's prompt alone is smaller than the total
    const retryPrompt = retry.reduce((n, m) => n + 4 + Math.ceil(m.content.length / 4), 0);
    expect(r.usage.promptTokens).toBeGreaterThan(retryPrompt);
  });

  test('structured: schema violations are sent back too', async () => {
    let n = 0;
    server.setResponder(() => (n++ === 0 ? { area: 'west', stars: 4 } : { area: 'centre', stars: 5 }));
    const r = await client().structured({ role: 'labeller', messages: ask, schema: Slots, schemaName: 's' });
    expect(r.value).toEqual({ area: 'centre', stars: 5 });
    expect(server.requests[1]!.messages![2]!.content).toMatch(/area/);
  });

  test('structured: an answer cut off at max_tokens fails for good, after one call, saying to raise maxTokens', async () => {
    server.setResponder(() => ({ area: 'north', stars: 4, note: 'a long answer '.repeat(20) }));
    const f = await failureOf(() =>
      client().structured({ role: 'labeller', messages: ask, schema: Slots, schemaName: 's', maxTokens: 5 }),
    );
    expect(f).toMatchObject({ type: LlmFailureType.OutputTruncated, nonRetryable: true });
    expect(f.message).toMatch(/cut off at maxTokens = 5 .*raise "maxTokens"/);
    expect(server.requests).toHaveLength(1);
  });

  test('structured: invalid twice throws InvalidLlmOutputError carrying the usage of both calls', async () => {
    server.malformedJson({ times: 2 });
    const err = await client({ prices: { promptPerMTok: 1, completionPerMTok: 1 } })
      .structured({ role: 'labeller', messages: ask, schema: Slots, schemaName: 's' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidLlmOutputError);
    const e = err as InvalidLlmOutputError;
    expect(e.reason).toMatch(/not valid JSON/);
    expect(e.calls).toBe(2);
    expect(e.usage.completionTokens).toBeGreaterThan(0);
    expect(e.costUsd).toBeGreaterThan(0);
    expect(server.total).toBe(2);
    const meter = new UsageMeter().add(e);
    expect(meter.totals.calls).toBe(2);
  });

  test('structured: falls back to json_object when the server rejects json_schema, and stays there', async () => {
    const old = await startLlmServer({
      rejectJsonSchema: true,
      responder: () => ({ area: 'north', stars: 2 }),
    });
    try {
      const seen: string[] = [];
      const c = createOpenAiClient({
        apiKey: KEY,
        baseURL: old.url,
        model: 'test-model',
        warn: (m) => seen.push(m),
      });
      const sys = [{ role: 'system' as const, content: 'You label hotel requests.' }, ...ask];
      const r1 = await c.structured({ role: 'labeller', messages: sys, schema: Slots, schemaName: 's' });
      const r2 = await c.structured({ role: 'labeller', messages: sys, schema: Slots, schemaName: 's' });
      expect([r1.value, r2.value]).toEqual([
        { area: 'north', stars: 2 },
        { area: 'north', stars: 2 },
      ]);
      const formats = old.requests.map((q) => (q.body!.response_format as { type: string }).type);
      expect(formats).toEqual(['json_schema', 'json_object', 'json_object']);
      const msgs = old.requests[1]!.messages!;
      expect(msgs).toHaveLength(2); // schema merged into the one leading system message
      expect(msgs[0]!.content).toMatch(/^You label hotel requests\.\n\nAnswer with exactly one JSON value/);
      expect(seen).toHaveLength(1);
    } finally {
      await old.close();
    }
  });
});

test('structured: without json_object either, the schema goes in the prompt only', async () => {
  server.status(400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported.", {
    times: 1,
  });
  server.status(400, "Invalid parameter: 'response_format' of type 'json_object' is not supported.", {
    times: 1,
  });
  server.setResponder(() => ({ area: 'north', stars: 4 })); // the server cannot tell a structured call now
  const c = client();
  const r = await c.structured({ role: 'labeller', messages: ask, schema: Slots, schemaName: 's' });
  expect(r.value).toEqual({ area: 'north', stars: 4 });
  const formats = server.requests.map(
    (q) => (q.body!.response_format as { type?: string } | undefined)?.type,
  );
  expect(formats).toEqual(['json_schema', 'json_object', undefined]);
  expect(server.requests[2]!.messages![0]).toMatchObject({
    role: 'system',
    content: expect.stringContaining('"stars"'),
  });
  expect(warnings).toHaveLength(2);
});

describe('openai client failures map to Temporal ApplicationFailures', () => {
  test('429 with Retry-After seconds: retryable, nextRetryDelay from the header', async () => {
    server.fail429({ retryAfterSeconds: 7 });
    const f = await failureOf(() => client().chat({ role: 'user', messages: ask }));
    expect(f.type).toBe(LlmFailureType.RateLimited);
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(7000);
  });

  test('429 with retry-after-ms wins over Retry-After', async () => {
    server.fail429({ retryAfterMs: 1234, retryAfterSeconds: 9 });
    const f = await failureOf(() => client().chat({ role: 'user', messages: ask }));
    expect(f.nextRetryDelay).toBe(1234);
    expect(server.total).toBe(1); // the SDK itself did not retry
  });

  test('Retry-After as an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs({ 'Retry-After': 'Wed, 01 Jan 2025 00:00:30 GMT' }, now)).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });

  test('429 insufficient_quota is not retryable', async () => {
    server.fail429({ code: 'insufficient_quota' });
    const f = await failureOf(() => client().chat({ role: 'user', messages: ask }));
    expect(f.type).toBe(LlmFailureType.Quota);
    expect(f.nonRetryable).toBe(true);
  });

  test('rpmLimit answers 429 with Retry-After beyond n requests a minute', async () => {
    server.rpmLimit(2);
    const c = client();
    await c.chat({ role: 'user', messages: ask });
    await c.chat({ role: 'user', messages: ask });
    const f = await failureOf(() => c.chat({ role: 'user', messages: ask }));
    expect(f.type).toBe(LlmFailureType.RateLimited);
    expect(f.nextRetryDelay).toBeGreaterThanOrEqual(59_000);
    expect(f.nextRetryDelay).toBeLessThanOrEqual(60_000);
  });

  test('500 and 503 are retryable', async () => {
    server.fail500().fail500({ status: 503 });
    const c = client();
    for (const status of [500, 503]) {
      const f = await failureOf(() => c.chat({ role: 'user', messages: ask }));
      expect(f.type).toBe(LlmFailureType.ServerError);
      expect(f.nonRetryable).toBe(false);
      expect(f.message).toContain(String(status));
    }
    expect((await c.chat({ role: 'user', messages: ask })).text).toBe('hello from user');
  });

  test('401: non-retryable LlmAuth naming the endpoint, never the key', async () => {
    const f = await failureOf(() =>
      client({ apiKey: 'sk-wrong-key-0000' }).chat({ role: 'user', messages: ask }),
    );
    expect(f.type).toBe(LlmFailureType.Auth);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(`the LLM endpoint ${server.url} rejected the API key (401): check OPENAI_API_KEY`);
    expect(f.message).not.toContain('wrong');
  });

  test('403: non-retryable LlmForbidden', async () => {
    server.status(403, 'You are not allowed to use this model.');
    const f = await failureOf(() => client().chat({ role: 'user', messages: ask }));
    expect(f.type).toBe(LlmFailureType.Forbidden);
    expect(f.nonRetryable).toBe(true);
  });

  test('404: non-retryable LlmModelNotFound naming model and endpoint', async () => {
    const f = await failureOf(() => client({ model: 'gpt-9' }).chat({ role: 'user', messages: ask }));
    expect(f.type).toBe(LlmFailureType.ModelNotFound);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(new RegExp(`^model gpt-9 not found at ${server.url} \\(404\\)`));
  });

  test('400: non-retryable LlmBadRequest with the server message', async () => {
    server.status(400, "Invalid value for 'temperature': must be <= 2.", { times: 1 });
    const f = await failureOf(() => client().chat({ role: 'user', messages: ask, temperature: 3 }));
    expect(f.type).toBe(LlmFailureType.BadRequest);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain("Invalid value for 'temperature'");
  });

  test('400 context length: non-retryable LlmContextLength', async () => {
    const small = await startLlmServer({ contextTokens: 20 });
    try {
      const c = createOpenAiClient({ apiKey: KEY, baseURL: small.url, model: 'test-model' });
      const long = [{ role: 'user' as const, content: 'word '.repeat(100) }];
      const f = await failureOf(() => c.chat({ role: 'user', messages: long }));
      expect(f.type).toBe(LlmFailureType.ContextLength);
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toMatch(/longer than model test-model's context window/);
    } finally {
      await small.close();
    }
  });

  test('timeout: retryable LlmTimeout', async () => {
    server.delay(1500);
    const f = await failureOf(() => client({ timeoutMs: 200 }).chat({ role: 'user', messages: ask }));
    expect(f.type).toBe(LlmFailureType.Timeout);
    expect(f.nonRetryable).toBe(false);
    expect(server.total).toBe(1);
  });

  test('connection refused: retryable LlmConnection', async () => {
    const gone = await startLlmServer();
    const url = gone.url;
    await gone.close();
    const c = createOpenAiClient({ apiKey: KEY, baseURL: url, model: 'test-model' });
    const f = await failureOf(() => c.chat({ role: 'user', messages: ask }));
    expect(f.type).toBe(LlmFailureType.Connection);
    expect(f.nonRetryable).toBe(false);
  });

  test('an aborted request stays an abort (activity cancellation)', async () => {
    server.delay(2000);
    const ac = new AbortController();
    const p = client().chat({ role: 'user', messages: ask, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toBeInstanceOf(APIUserAbortError);
  });
});

describe('preflight', () => {
  test('passes with a good key and model, with one tiny call', async () => {
    await preflight(client());
    expect(server.total).toBe(1);
    expect(server.requests[0]!.body!.max_tokens).toBe(1);
    expect(server.requests[0]!.role).toBe('preflight');
  });

  test('refuses a wrong key and an unknown model with clear messages', async () => {
    await expect(preflight(client({ apiKey: 'sk-nope-1234' }))).rejects.toMatchObject({
      type: LlmFailureType.Auth,
      nonRetryable: true,
    });
    await expect(preflight(client({ model: 'nope' }))).rejects.toMatchObject({
      type: LlmFailureType.ModelNotFound,
      message: expect.stringContaining('model nope not found'),
    });
  });

  test('a plain rate limit counts as success', async () => {
    server.fail429({ retryAfterSeconds: 1 });
    await expect(preflight(client())).resolves.toBeUndefined();
  });
});
