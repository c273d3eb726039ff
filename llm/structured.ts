/** JSON answers shared by both clients: schema export, tolerant parsing, validate-and-retry-once. */
import { z } from 'zod';
import { InvalidLlmOutputError, LlmOutputTruncatedError } from './errors';
import { addUsage } from './usage';
import type { ChatMessage, ChatResult, StructuredRequest, StructuredResult } from './types';

export type JsonSchema = Record<string, unknown>;

/**
 * JSON Schema of a zod schema (draft 2020-12, output side so defaults count as required: the model
 * should write every field). `$schema` is dropped: some servers reject unknown top-level keys.
 */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** A system message that states the schema, for servers that do not enforce it themselves. */
export function schemaInstruction(schema: JsonSchema): ChatMessage {
  return {
    role: 'system',
    content:
      'Answer with exactly one JSON value and nothing else (no prose, no code fences). ' +
      `It must match this JSON schema:\n${JSON.stringify(schema)}`,
  };
}

/**
 * Parses a model's JSON answer. Tolerates what models add around it: ```json fences, leading or
 * trailing prose (the outermost {...} or [...] is tried when the whole text is not JSON).
 */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  const fenced = /```(?:json|JSON)?\s*\n?([\s\S]*?)\n?\s*```/.exec(text);
  const body = (fenced?.[1] ?? text).trim();
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    const start = body.search(/[[{]/);
    const end = Math.max(body.lastIndexOf('}'), body.lastIndexOf(']'));
    if (start >= 0 && end > start) {
      try {
        return { ok: true, value: JSON.parse(body.slice(start, end + 1)) };
      } catch {
        // fall through to the original error, which points at the real problem
      }
    }
    return { ok: false, reason: `not valid JSON (${(err as Error).message})` };
  }
}

/** Parses and validates; the reason is short enough to send back to the model. */
export function validateAnswer<T>(
  schema: z.ZodType<T>,
  text: string,
): { ok: true; value: T } | { ok: false; reason: string } {
  const parsed = parseJsonAnswer(text);
  if (!parsed.ok) return parsed;
  const checked = schema.safeParse(parsed.value);
  if (checked.success) return { ok: true, value: checked.data };
  const reason = `JSON does not match the schema:\n${z.prettifyError(checked.error)}`;
  return { ok: false, reason: reason.length > 1500 ? `${reason.slice(0, 1500)}…` : reason };
}

/**
 * The shared structured-output loop: one call, validation, and on failure one more call with the
 * bad answer and the validation error appended (models fix their own mistakes well when told
 * what was wrong). Usage of both calls is summed; a second failure throws `InvalidLlmOutputError`.
 * An invalid answer that stopped at the token limit (`finishReason: 'length'`) throws
 * `LlmOutputTruncatedError` at once: the correction would be cut off at the same limit.
 */
export async function runStructured<T>(
  req: StructuredRequest<T>,
  call: (messages: ChatMessage[]) => Promise<ChatResult>,
): Promise<StructuredResult<T>> {
  const first = await call(req.messages);
  const v1 = validateAnswer(req.schema, first.text);
  if (v1.ok) return { ...first, value: v1.value, calls: 1 };
  if (first.finishReason === 'length') {
    throw new LlmOutputTruncatedError(req.maxTokens, first.usage, first.costUsd, first.text);
  }
  const retry: ChatMessage[] = [
    ...req.messages,
    { role: 'assistant', content: first.text },
    {
      role: 'user',
      content: `Your answer was not valid: ${v1.reason}\nReply again with only the corrected JSON value, no other text.`,
    },
  ];
  const second = await call(retry);
  const usage = addUsage(first.usage, second.usage);
  const costUsd = first.costUsd + second.costUsd;
  const v2 = validateAnswer(req.schema, second.text);
  if (v2.ok) return { ...second, usage, costUsd, value: v2.value, calls: 2 };
  if (second.finishReason === 'length') {
    throw new LlmOutputTruncatedError(req.maxTokens, usage, costUsd, second.text, 2);
  }
  throw new InvalidLlmOutputError(v2.reason, usage, costUsd, second.text);
}
