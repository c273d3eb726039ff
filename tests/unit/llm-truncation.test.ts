/**
 * A JSON answer cut off by the completion-token limit (`finish_reason: "length"`): its own
 * error, saying to raise `maxTokens`, never retried (neither by the correction call nor by
 * Temporal), whichever client made the call.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { truncationIsFatal } from '../../llm/config';
import {
  InvalidLlmOutputError,
  LlmFailureType,
  LlmOutputTruncatedError,
  toTemporalFailure,
} from '../../llm/errors';
import { runStructured } from '../../llm/structured';
import type { ChatMessage, ChatResult, LlmClient, StructuredRequest } from '../../llm/types';

const Slots = z.object({ area: z.string(), stars: z.number() });
const req: StructuredRequest<z.infer<typeof Slots>> = {
  role: 'labeller',
  messages: [{ role: 'user', content: 'a 4 star hotel in the north' }],
  schema: Slots,
  schemaName: 'slots',
  maxTokens: 6,
};

/** A fake model answering the given texts in turn, recording the calls it got. */
function fakeModel(answers: Array<Pick<ChatResult, 'text' | 'finishReason'>>) {
  const calls: ChatMessage[][] = [];
  const call = async (messages: ChatMessage[]): Promise<ChatResult> => {
    const a = answers[calls.length] ?? answers[answers.length - 1]!;
    calls.push(messages);
    return { ...a, usage: { promptTokens: 10, completionTokens: 6 }, costUsd: 0.5, model: 'fake' };
  };
  return { calls, call };
}

test('a truncated invalid answer: LlmOutputTruncatedError at once, naming maxTokens and the config key', async () => {
  const m = fakeModel([{ text: '{"area": "nor', finishReason: 'length' }]);
  const err: unknown = await runStructured(req, m.call).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LlmOutputTruncatedError);
  expect(err).not.toBeInstanceOf(InvalidLlmOutputError);
  const e = err as LlmOutputTruncatedError;
  expect(m.calls).toHaveLength(1); // no correction call: it would be cut at the same limit
  expect(e).toMatchObject({ maxTokens: 6, calls: 1, costUsd: 0.5, lastText: '{"area": "nor' });
  expect(e.usage).toEqual({ promptTokens: 10, completionTokens: 6 });
  expect(e.message).toMatch(/cut off at maxTokens = 6 .*raise "maxTokens".*"generation\.llm\.maxTokens"/);
});

test('an invalid answer that stopped normally is still corrected once, then InvalidLlmOutputError', async () => {
  const m = fakeModel([{ text: 'no JSON here', finishReason: 'stop' }]);
  const err: unknown = await runStructured(req, m.call).catch((e: unknown) => e);
  expect(m.calls).toHaveLength(2);
  expect(err).toBeInstanceOf(InvalidLlmOutputError);
});

test('a correction cut off by the limit is a truncation too, with the usage of both calls', async () => {
  const m = fakeModel([
    { text: 'no JSON here', finishReason: 'stop' },
    { text: '{"area": "north", "st', finishReason: 'length' },
  ]);
  const err = (await runStructured(req, m.call).catch((e: unknown) => e)) as LlmOutputTruncatedError;
  expect(err).toBeInstanceOf(LlmOutputTruncatedError);
  expect(err).toMatchObject({ calls: 2, costUsd: 1, usage: { promptTokens: 20, completionTokens: 12 } });
});

test('a complete answer followed by rambling up to the limit is kept', async () => {
  const m = fakeModel([{ text: '{"area": "north", "stars": 4} and then some', finishReason: 'length' }]);
  await expect(runStructured(req, m.call)).resolves.toMatchObject({ value: { area: 'north', stars: 4 } });
});

test('crossing into Temporal: a non-retryable ApplicationFailure with its own type', () => {
  const e = new LlmOutputTruncatedError(undefined, { promptTokens: 1, completionTokens: 512 }, 0, '{');
  const f = toTemporalFailure(e);
  expect(f).toBeInstanceOf(ApplicationFailure);
  expect(f).toMatchObject({ type: LlmFailureType.OutputTruncated, nonRetryable: true });
  expect(f.message).toMatch(/512 completion tokens.*raise "maxTokens"/);
});

test('the local client (plain errors) hands a truncation to Temporal as that failure', async () => {
  const m = fakeModel([{ text: '{"area"', finishReason: 'length' }]);
  const local: LlmClient = {
    model: 'local:fake.gguf',
    chat: (r) => m.call(r.messages),
    structured: (r) => runStructured(r, m.call),
  };
  const err: unknown = await truncationIsFatal(local)
    .structured(req)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: LlmFailureType.OutputTruncated, nonRetryable: true });
  // Other errors are left as they are (an invalid answer stays the simulator's to handle).
  const bad = fakeModel([{ text: 'nope', finishReason: 'stop' }]);
  const other: unknown = await truncationIsFatal({ ...local, structured: (r) => runStructured(r, bad.call) })
    .structured(req)
    .catch((e: unknown) => e);
  expect(other).toBeInstanceOf(InvalidLlmOutputError);
});
