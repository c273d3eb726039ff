/**
 * A user turn that only repeats (its own previous turn, or the agent's words) is asked for once
 * more, as its own step, with the repeat named in the prompt; the correction is recorded.
 */
import type { ChatRequest, ChatResult, LlmClient } from '../../llm/types';
import { ECHO, ECHO_RETRY_TEMPERATURE, echoOf, wordSimilarity } from '../../simulator/echo';
import { stepSession, type SimulatorDeps } from '../../simulator/engine';
import { STEP } from '../../simulator/session';
import { REASON, type HistoryLine } from '../../simulator/types';
import { hotelSession } from '../helpers/sessions';

const history: HistoryLine[] = [
  { speaker: 'USER', text: "I'm looking for a cheap hotel in the north." },
  { speaker: 'SYSTEM', text: 'How many nights would you like to stay?' },
];

test('word similarity and what a turn repeats', () => {
  expect(wordSimilarity('A cheap hotel.', 'a CHEAP hotel')).toBe(1);
  expect(wordSimilarity('', 'anything')).toBe(0);
  expect(echoOf('How many nights would you like to stay?', history)).toBe(ECHO.AGENT);
  expect(echoOf("I'm looking for a cheap hotel in the north!", history)).toBe(ECHO.PREVIOUS);
  expect(echoOf('Two nights, for six people.', history)).toBeUndefined();
  expect(echoOf('Anything in the north.', [])).toBeUndefined();
});

const session = () => hotelSession({ action: 'request', slot: 'hotel-bookstay' });

function scriptedUser(answers: string[]): { llm: LlmClient; prompts: string[]; temperatures: unknown[] } {
  const prompts: string[] = [];
  const temperatures: unknown[] = [];
  const chat = (req: ChatRequest): Promise<ChatResult> => {
    prompts.push(req.messages.map((m) => m.content).join('\n'));
    temperatures.push(req.temperature);
    const text = answers.shift() ?? 'unexpected call';
    return Promise.resolve({
      text,
      finishReason: 'stop',
      usage: { promptTokens: 10, completionTokens: 5 },
      costUsd: 0,
    } as ChatResult);
  };
  const structured = () => Promise.reject(new Error('not in this test'));
  return { llm: { model: 'fake', chat, structured }, prompts, temperatures };
}

const deps = (llm: LlmClient) => ({ llm }) as unknown as SimulatorDeps;

test('a turn that echoes the agent is asked again in its own step, the repeat named', async () => {
  const { llm, prompts, temperatures } = scriptedUser(['How many nights?', 'Two nights, somewhere cheap.']);
  const first = await stepSession(session(), deps(llm), { paraphrases: 0 });
  expect(first.next).toBe(STEP.USER_RETRY);
  expect(first.pending?.echo).toBe(ECHO.AGENT);
  expect(first.failures).toEqual([expect.objectContaining({ reason: REASON.REPEATED_TURN, turn: 1 })]);
  expect(prompts).toHaveLength(1);

  const second = await stepSession(first, deps(llm), { paraphrases: 0 });
  expect(prompts).toHaveLength(2);
  expect(prompts[1]).toContain('Your last try was: "How many nights?". That only repeats the agent\'s words');
  expect(prompts[0]).not.toContain('repeated');
  expect(second.pending).toMatchObject({
    utterance: 'Two nights, somewhere cheap.',
    intent: first.pending?.intent,
  });
  expect(second.pending?.reveal).toEqual(first.pending?.reveal);
  expect(second.next).toBe(STEP.LABEL);
  expect(second.usage.calls).toBe(2);
  expect(temperatures).toEqual([undefined, ECHO_RETRY_TEMPERATURE]); // the retry samples hotter
});

test('a new turn goes straight on, with one call', async () => {
  const { llm, prompts } = scriptedUser(['Two nights, somewhere cheap.']);
  const next = await stepSession(session(), deps(llm), { paraphrases: 0 });
  expect(prompts).toHaveLength(1);
  expect(next.next).toBe(STEP.LABEL);
  expect(next.pending?.echo).toBeUndefined();
  expect(next.failures).toEqual([]);
});
