/**
 * A loopback OpenAI-compatible server for tests: real HTTP on 127.0.0.1 (random port), the
 * chat-completions wire format, scripted answers per simulator role and injected faults.
 *
 * Roles: clients send `ChatRequest.role` in the `x-dst-role` header (see `ROLE_HEADER` in
 * llm/openai.ts); the responder gets it as `req.role` (undefined when a client sends none, in
 * which case a responder can look at the system prompt itself).
 *
 * Faults are a FIFO queue: each request takes the first queued fault that applies to it
 * (`malformedJson` only applies to structured calls), and a fault is dropped once used `times`
 * times. Auth (`apiKey`), `rpmLimit` and `contextTokens` are checked before the queue.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServerChatMessage {
  role: string;
  content: string;
}

export interface LlmServerRequest {
  /** The `x-dst-role` header. */
  role?: string;
  messages: ServerChatMessage[];
  model: string;
  /** The whole JSON request body. */
  body: Record<string, unknown>;
  /** True when the request has a `response_format` (json_schema or json_object). */
  structured: boolean;
}

/** Answer text, or a value that is sent as its JSON text. */
export type Responder = (req: LlmServerRequest) => string | object | Promise<string | object>;

export interface RecordedRequest extends Partial<LlmServerRequest> {
  /** The `x-dst-conversation` header (`<goal>/<attempt>/<role>`), when the client sent one. */
  conversation?: string;
  method: string;
  path: string;
  /** The status sent; `CLIENT_CLOSED` (499) when the client had gone before the answer. */
  status: number;
  /** Which fault or rule answered, if any (`429`, `500`, `delay`, `malformed`, `status`, `rpm`, …). */
  fault?: string;
  /** ms since epoch, at arrival. */
  at: number;
}

export interface LlmServerOptions {
  /** Default: JSON `{}` for structured calls, `"ok"` otherwise. */
  responder?: Responder;
  /** Models the server knows; any other gets a 404 `model_not_found`. Default `['test-model']`. */
  models?: string[];
  /** When set, any other bearer token gets a 401 `invalid_api_key` (its message quotes the key masked, as OpenAI does). */
  apiKey?: string;
  /** Report `usage` (chars/4 counts). Default true; false mimics servers that report none. */
  reportUsage?: boolean;
  /** Answer 400 to `response_format: json_schema`, as servers without it do. Default false. */
  rejectJsonSchema?: boolean;
  /** Prompt size in tokens (chars/4) beyond which a 400 `context_length_exceeded` comes back. */
  contextTokens?: number;
}

interface Fault {
  kind: string;
  remaining: number;
  appliesTo(req: LlmServerRequest): boolean;
  /** Writes a response and returns its status, or returns undefined to go on normally (after a delay). */
  run(res: ServerResponse): Promise<number | undefined>;
}

export interface LlmServer {
  /** Base URL including `/v1`, for `baseURL`. */
  readonly url: string;
  /** Every request received, in order, with the status it got. */
  readonly requests: readonly RecordedRequest[];
  /** Chat-completion requests received (any outcome). */
  readonly total: number;
  /** Chat-completion requests per `x-dst-role` (`'?'` for none). */
  roleCounts(): Record<string, number>;
  setResponder(responder: Responder): void;
  /** 429s, with `Retry-After: <seconds>` and/or `retry-after-ms`. `times` default 1. */
  fail429(o?: {
    retryAfterSeconds?: number;
    retryAfterMs?: number;
    retryAfterDate?: Date;
    times?: number;
    code?: string;
  }): this;
  /** 500s (or another 5xx via `status`). `times` default 1. */
  fail500(o?: { times?: number; status?: number }): this;
  /** Waits `ms` before answering normally. `times` default 1. */
  delay(ms: number, o?: { times?: number }): this;
  /** Non-JSON content for structured calls (chat calls are not affected). `times` default 1. */
  malformedJson(o?: { times?: number }): this;
  /** Any status with an OpenAI-style error body (a string becomes `error.message`). `times` default: forever. */
  status(code: number, body?: string | object, o?: { times?: number }): this;
  /** At most `n` requests per rolling minute; beyond, 429 with `Retry-After` until the oldest ages out. */
  rpmLimit(n: number | undefined): this;
  /** Clears faults, rules, log and counters. */
  reset(): void;
  /** Clears queued faults and rules only (the log and counters stay). */
  clearFaults(): void;
  close(): Promise<void>;
}

const sleep = (ms: number, timers: Set<NodeJS.Timeout>) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, ms);
    timers.add(t);
  });

const estimate = (text: string) => (text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4)));

/** Logged instead of the status when the client was gone before the answer (nginx's code). */
export const CLIENT_CLOSED = 499;

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): number {
  // A killed worker or an aborted request: nobody received this answer, so it is not logged
  // as answered (crash tests count answered calls against the ones recorded).
  if (res.destroyed) return CLIENT_CLOSED;
  if (!res.headersSent) {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
  return status;
}

function errorBody(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export async function startLlmServer(opts: LlmServerOptions = {}): Promise<LlmServer> {
  const models = opts.models ?? ['test-model'];
  let responder: Responder = opts.responder ?? ((r) => (r.structured ? {} : 'ok'));
  let faults: Fault[] = [];
  let rpm: number | undefined;
  let admitted: number[] = [];
  const log: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;

  function takeFault(req: LlmServerRequest): Fault | undefined {
    const f = faults.find((x) => x.appliesTo(req));
    if (f && --f.remaining <= 0) faults = faults.filter((x) => x !== f);
    return f;
  }

  async function completions(
    body: Record<string, unknown>,
    role: string | undefined,
    auth: string,
    res: ServerResponse,
    conversation?: string,
  ) {
    const messages = (Array.isArray(body.messages) ? body.messages : []) as ServerChatMessage[];
    const model = String(body.model ?? '');
    const req: LlmServerRequest = { role, messages, model, body, structured: body.response_format != null };
    const entry: RecordedRequest = {
      method: 'POST',
      path: '/v1/chat/completions',
      ...req,
      ...(conversation ? { conversation } : {}),
      status: 0,
      at: Date.now(),
    };
    log.push(entry);
    const done = (status: number, fault?: string) => {
      entry.status = status;
      if (fault) entry.fault = fault;
    };

    if (opts.apiKey !== undefined && auth !== `Bearer ${opts.apiKey}`) {
      const given = auth.replace(/^Bearer /, '');
      const masked = `${given.slice(0, 3)}***${given.slice(-2)}`;
      const msg = `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`;
      return done(send(res, 401, errorBody(msg, 'invalid_request_error', 'invalid_api_key')), 'auth');
    }
    if (rpm !== undefined) {
      const now = Date.now();
      admitted = admitted.filter((t) => t > now - 60_000);
      if (admitted.length >= rpm) {
        const wait = Math.max(1, Math.ceil((admitted[0]! + 60_000 - now) / 1000));
        const body429 = errorBody(
          `Rate limit reached: ${rpm} requests per minute.`,
          'requests',
          'rate_limit_exceeded',
        );
        return done(send(res, 429, body429, { 'retry-after': String(wait) }), 'rpm');
      }
      admitted.push(now);
    }
    const promptTokens = messages.reduce((n, m) => n + 4 + estimate(String(m.content ?? '')), 0);
    if (opts.contextTokens !== undefined && promptTokens > opts.contextTokens) {
      const msg = `This model's maximum context length is ${opts.contextTokens} tokens. However, your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`;
      return done(
        send(res, 400, errorBody(msg, 'invalid_request_error', 'context_length_exceeded')),
        'context',
      );
    }
    const fault = takeFault(req);
    if (fault) {
      const status = await fault.run(res);
      if (status !== undefined) return done(status, fault.kind);
    }
    if (!models.includes(model)) {
      const msg = `The model \`${model}\` does not exist or you do not have access to it.`;
      return done(send(res, 404, errorBody(msg, 'invalid_request_error', 'model_not_found')), fault?.kind);
    }
    const format = body.response_format as { type?: string } | undefined;
    if (opts.rejectJsonSchema && format?.type === 'json_schema') {
      const msg =
        "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.";
      return done(send(res, 400, errorBody(msg, 'invalid_request_error', null)), 'json_schema');
    }

    let content: string;
    if (fault?.kind === 'malformed') content = 'Sure! Here is the JSON you asked for: {"answer": ';
    else {
      const answer = await responder(req);
      content = typeof answer === 'string' ? answer : JSON.stringify(answer);
    }
    let finish = 'stop';
    const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : undefined;
    if (maxTokens !== undefined && estimate(content) > maxTokens) {
      content = content.slice(0, maxTokens * 4);
      finish = 'length';
    }
    const completionTokens = estimate(content);
    const out: Record<string, unknown> = {
      id: `chatcmpl-${++seq}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: null },
          logprobs: null,
          finish_reason: finish,
        },
      ],
    };
    if (opts.reportUsage !== false) {
      out.usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      };
    }
    done(send(res, 200, out), fault?.kind);
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const role = req.headers['x-dst-role'];
    const handle = async () => {
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        const body = await readJson(req);
        if (!body)
          return send(
            res,
            400,
            errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', null),
          );
        const conversation = req.headers['x-dst-conversation'];
        return completions(
          body,
          typeof role === 'string' ? role : undefined,
          req.headers.authorization ?? '',
          res,
          typeof conversation === 'string' ? conversation : undefined,
        );
      }
      const entry: RecordedRequest = { method: req.method ?? '', path, status: 0, at: Date.now() };
      log.push(entry);
      if (req.method === 'GET' && path === '/v1/models') {
        const data = models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'dst-synth-test' }));
        entry.status = send(res, 200, { object: 'list', data });
      } else if (req.method === 'GET' && path.startsWith('/v1/models/')) {
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        entry.status = models.includes(id)
          ? send(res, 200, { id, object: 'model', created: 0, owned_by: 'dst-synth-test' })
          : send(
              res,
              404,
              errorBody(`The model \`${id}\` does not exist.`, 'invalid_request_error', 'model_not_found'),
            );
      } else {
        entry.status = send(res, 404, errorBody(`Unknown path ${path}`, 'invalid_request_error', null));
      }
    };
    handle().catch((err: unknown) =>
      send(res, 500, errorBody(`test server: ${String(err)}`, 'server_error', null)),
    );
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const api: LlmServer = {
    url: `http://127.0.0.1:${port}/v1`,
    requests: log,
    get total() {
      return log.filter((r) => r.path === '/v1/chat/completions').length;
    },
    roleCounts() {
      const counts: Record<string, number> = {};
      for (const r of log)
        if (r.path === '/v1/chat/completions') counts[r.role ?? '?'] = (counts[r.role ?? '?'] ?? 0) + 1;
      return counts;
    },
    setResponder(r) {
      responder = r;
    },
    fail429(o = {}) {
      const headers: Record<string, string> = {};
      if (o.retryAfterSeconds !== undefined) headers['retry-after'] = String(o.retryAfterSeconds);
      if (o.retryAfterDate !== undefined) headers['retry-after'] = o.retryAfterDate.toUTCString();
      if (o.retryAfterMs !== undefined) headers['retry-after-ms'] = String(o.retryAfterMs);
      const body = errorBody('Rate limit reached for requests.', 'requests', o.code ?? 'rate_limit_exceeded');
      faults.push({
        kind: '429',
        remaining: o.times ?? 1,
        appliesTo: () => true,
        run: async (res) => send(res, 429, body, headers),
      });
      return api;
    },
    fail500(o = {}) {
      const status = o.status ?? 500;
      const body = errorBody('The server had an error while processing your request.', 'server_error', null);
      faults.push({
        kind: String(status),
        remaining: o.times ?? 1,
        appliesTo: () => true,
        run: async (res) => send(res, status, body),
      });
      return api;
    },
    delay(ms, o = {}) {
      faults.push({
        kind: 'delay',
        remaining: o.times ?? 1,
        appliesTo: () => true,
        run: async () => {
          await sleep(ms, timers);
          return undefined;
        },
      });
      return api;
    },
    malformedJson(o = {}) {
      faults.push({
        kind: 'malformed',
        remaining: o.times ?? 1,
        appliesTo: (r) => r.structured,
        run: async () => undefined,
      });
      return api;
    },
    status(code, body, o = {}) {
      const payload =
        typeof body === 'object' ? body : errorBody(body ?? `status ${code}`, 'invalid_request_error', null);
      faults.push({
        kind: 'status',
        remaining: o.times ?? Infinity,
        appliesTo: () => true,
        run: async (res) => send(res, code, payload),
      });
      return api;
    },
    rpmLimit(n) {
      rpm = n;
      admitted = [];
      return api;
    },
    clearFaults() {
      faults = [];
      rpm = undefined;
      admitted = [];
    },
    reset() {
      faults = [];
      rpm = undefined;
      admitted = [];
      log.length = 0;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
  return api;
}
