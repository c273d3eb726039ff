/**
 * Role coherence checks (issue 15): each rejects a hand-made bad turn (the 1.5B default model's
 * own words) and passes real MultiWOZ turns; a failing turn is retried as its own engine step,
 * and a session saved between the two calls (a worker killed there) repeats neither.
 */
import path from 'node:path';
import { ECHO_RETRY_TEMPERATURE } from '../../simulator/echo';
import { stepSession, systemProblem, userProblem } from '../../simulator/engine';
import { USER_MAX_TOKENS, USER_STOP, toLastSentence } from '../../simulator/prompts';
import { loadDataset } from '../../multiwoz/loaders';
import { loadOntology } from '../../multiwoz/ontology';
import { multiwozDir } from '../../multiwoz/paths';
import type { Dialogue } from '../../multiwoz/types';
import { loadVenueDb } from '../../multiwoz/venues';
import {
  agentEchoesUser,
  agentRepeats,
  agentSpeaksAsUser,
  asksAgain,
  isEmptyTurn,
  userSpeaksAsAgent,
} from '../../simulator/roles';
import type { Session } from '../../simulator/session';
import { REASON, type SystemPromptInput } from '../../simulator/types';
import { awayFromPrevious } from '../../simulator/system-policy';
import type { ChatMessage, LlmClient } from '../../llm/types';
import { hotelSession } from '../helpers/sessions';
import { loadTurnRetriever, type TurnRetriever } from '../../simulator/retrieval';

let test21: Dialogue[];
beforeAll(async () => {
  test21 = await loadDataset({ source: path.join(multiwozDir(), '2.1/test.json.zip'), split: 'test' });
}, 60_000);

const turns = (speaker: 'USER' | 'SYSTEM') =>
  test21.flatMap((d) => d.turns.filter((t) => t.speaker === speaker).map((t) => t.utterance));

test('a user turn in the agent voice is caught; real user turns pass', () => {
  for (const bad of [
    "Could you please provide a bit more information about your hotel or the distance you're willing to travel?",
    "I'd be happy to help you book the hotel. Let me know if you need anything else.",
    'Is there anything else I can help you with?',
    // From a demo run (2026-12-06): the user confirms the booking as the agent would.
    "Thank you for the information! Can you please confirm the following details: - Number of passengers: 1 - Arrival time: Sunday at 06:00 - Origin: Kings Lynn - Destination: Cambridge Once you've confirmed these details, I'd be glad to proceed with booking the train for you.",
    'I can go ahead and reserve a table for you.',
    // From the 300-goal run (2026-12-06), accepted before these phrases were added.
    "Sure, I'll go ahead and book the Grey Lexus for you.",
    'Sure, would you like to know the phone number for the Grey Lexus?',
    'Sure, the phone number for the Blue Toyota is 0123456789.',
    'Sure, the phone number is 01223 123456 and the area is the centre area.',
    'Sure, the postcode is CB2 1QH and the phone number is 01223 123456.',
  ])
    expect(userSpeaksAsAgent(bad)).toBe(true);
  expect(userSpeaksAsAgent("I'm looking for a cheap hotel in the north, can you help?")).toBe(false);
  const users = turns('USER');
  expect(users.length).toBe(7372);
  // Two real turns are flagged, both spoken as the agent in the corpus itself (swapped turns).
  expect(users.filter(userSpeaksAsAgent)).toEqual([
    'Ok I will book it for you',
    'What time would you like to depart ?',
  ]);
});

// Each was accepted before its phrase was caught.
const USER_TURNS_TELLING_FACTS = [
  // The demo of 2026-12-07:
  'Sure. The address of Wagamama is 23 Cambridge Street, Cambridge.',
  'Travel time for TR0413 is 06:58 to 07:02.',
  // The 100-goal runs (2026-12-07):
  'Sure, the entrance fee for the Holy Trinity Church is £10.',
  'Sure, you can call 01223 123456 to get more information about Gourmet Burger Kitchen.',
  "To find a suitable train, I will use some research. I'll check the timetable for TR4943.",
  'According to the timetable, there is a train leaving at 06:00.',
  'Sure! The phone number is (123) 456-7890.',
  "Understood. Can you provide me with the names of the towns you're interested in staying in for three nights?",
  'What days are you interested in booking for three nights?',
  // A probe of 3 real goals (2026-12-07):
  'Sure! The price for the train ticket is £200.',
];

test("a user turn telling the agent the venue's facts is caught; a real user's question passes", () => {
  for (const turn of USER_TURNS_TELLING_FACTS) expect([turn, userSpeaksAsAgent(turn)]).toEqual([turn, true]);
  expect(userSpeaksAsAgent("it 's a little early, but it will do. departure time is 06:40 ?")).toBe(false);
  expect(userSpeaksAsAgent('What is the address of Wagamama?')).toBe(false);
});

test('an agent turn in the visitor voice is caught; real agent turns pass', () => {
  expect(agentSpeaksAsUser('Can you recommend the arrival time for TR7075?')).toBe(true);
  expect(agentSpeaksAsUser("I'm looking for a place to stay in the north.")).toBe(true);
  expect(agentSpeaksAsUser("Thank you for your help. I'll see you soon.")).toBe(true);
  expect(agentSpeaksAsUser('Could you please recommend a restaurant in the centre area?')).toBe(true);
  expect(
    agentSpeaksAsUser(
      'Sorry, the cityroomz hotel does not have parking. Could you please suggest an option that does?',
    ),
  ).toBe(true);
  // From the 300-goal run (2026-12-06), twice, the retry word for word the same: fixed in the
  // prompt's book rule and by the hotter retry, still rejected by the check.
  expect(
    agentSpeaksAsUser(
      "I'd like to book Little Seoul in the centre area of Cambridge for 5 people on Sunday at 14:30. Your reference number is UAOH3TFE.",
    ),
  ).toBe(true);
  expect(agentSpeaksAsUser('I recommend the Acorn Guest House. Would you like me to book it?')).toBe(false);
  // One real turn is flagged: "Can you book it for me and get a reference number ?", a swapped turn.
  expect(turns('SYSTEM').filter(agentSpeaksAsUser)).toHaveLength(1);
});

test("an agent turn that says the visitor's last turn again is caught; real agent answers pass", () => {
  // The 100-goal run (2026-12-07): the agent's greeting was the visitor's greeting word for word.
  const greeting =
    "Hello! I'm just here for a business trip to Cambridge. Could you please help me with something?";
  expect(agentEchoesUser(greeting, greeting)).toBe(true);
  expect(agentSpeaksAsUser(greeting)).toBe(true);
  expect(agentEchoesUser('Hello, how can I help you today?', greeting)).toBe(false);
  let echoes = 0;
  let pairs = 0;
  for (const d of test21)
    for (let i = 1; i < d.turns.length; i++) {
      const [u, a] = [d.turns[i - 1]!, d.turns[i]!];
      if (u.speaker !== 'USER' || a.speaker !== 'SYSTEM') continue;
      pairs++;
      if (agentEchoesUser(a.utterance, u.utterance)) echoes++;
    }
  expect(pairs).toBeGreaterThan(7000);
  expect(echoes / pairs).toBeLessThan(0.001);
});

test('an agent turn that repeats the previous agent turn is caught; real consecutive agent turns pass', () => {
  const said = 'Byard Art is located in the south area of Cambridge.';
  expect(agentRepeats(said, said)).toBe(true);
  expect(agentRepeats('Byard Art is in the south area of Cambridge.', said)).toBe(true);
  expect(agentRepeats('Its entrance is free.', said)).toBe(false);
  let repeats = 0;
  let pairs = 0;
  for (const d of test21) {
    const sys = d.turns.filter((t) => t.speaker === 'SYSTEM').map((t) => t.utterance);
    for (let i = 1; i < sys.length; i++, pairs++) if (agentRepeats(sys[i]!, sys[i - 1])) repeats++;
  }
  // Real agents do repeat themselves now and then ("Is there anything else …"): under 0.5 %.
  expect(repeats / pairs).toBeLessThan(0.005);
});

test('an empty first turn is caught; a real first turn with its facts passes', () => {
  const facts = [['hotel-pricerange', 'cheap'] as const];
  const said = (text: string) => (_slot: string, v: string) => text.toLowerCase().includes(v);
  expect(isEmptyTurn(facts, said("Sure, I'll tell you what I'm looking for."))).toBe(true);
  const real = test21.map((d) => d.turns[0]?.utterance ?? '').find((u) => /cheap/i.test(u))!;
  expect(isEmptyTurn(facts, said(real))).toBe(false);
  expect(isEmptyTurn([], said('Hello!'))).toBe(false); // nothing planned: a greeting is fine
});

test('a user asking for what the agent just said is caught; a real request passes', () => {
  expect(asksAgain("I'd like to know the area of Byard Art.", ['area'])).toEqual(['area']);
  expect(asksAgain('What is the address?', ['address', 'phone'])).toEqual(['address']);
  expect(asksAgain('Can I get the phone number please?', ['address'])).toEqual([]);
  // Real: "could you give me the address ?" after a turn that did not say it.
  expect(asksAgain('could you give me the address ?', [])).toEqual([]);
  expect(asksAgain('The address is fine, thanks.', ['address'])).toEqual([]);
});

interface Recorded {
  calls: Record<string, number>;
  temperatures: Array<number | undefined>;
  prompts: ChatMessage[][];
  /** The stop sequences of each plain chat call (the user role's). */
  stops: Array<readonly string[] | undefined>;
  /** The maxTokens of each plain chat call. */
  limits: Array<number | undefined>;
}

/** A client that answers from a list and counts its calls per role. */
/** A user answer: its text, or the text and how it ended (`length`: cut at maxTokens). */
type UserLine = string | { text: string; finishReason: string };

function scripted(user: UserLine[], system: object[]): LlmClient & Recorded {
  const calls: Record<string, number> = {};
  const temperatures: Array<number | undefined> = [];
  const prompts: ChatMessage[][] = [];
  const stops: Array<readonly string[] | undefined> = [];
  const limits: Array<number | undefined> = [];
  const usage = { promptTokens: 10, completionTokens: 5 };
  const count = (role: string) => (calls[role] = (calls[role] ?? 0) + 1);
  return {
    model: 'scripted',
    calls,
    temperatures,
    prompts,
    stops,
    limits,
    chat: async (req) => {
      count(req.role);
      prompts.push(req.messages);
      stops.push(req.stop);
      limits.push(req.maxTokens);
      const line = user.shift() ?? 'Thanks, bye.';
      const [text, finishReason] = typeof line === 'string' ? [line, 'stop'] : [line.text, line.finishReason];
      return { text, finishReason, usage, costUsd: 0, model: 'scripted' };
    },
    structured: async <T>(req: { role: string; temperature?: number; messages: ChatMessage[] }) => {
      count(req.role);
      temperatures.push(req.temperature);
      prompts.push(req.messages);
      const value = system.shift() as T;
      return { value, text: JSON.stringify(value), usage, costUsd: 0, model: 'scripted' };
    },
  } as LlmClient & Recorded;
}

const deps = (llm: LlmClient) => ({
  llm,
  db: loadVenueDb(),
  ontology: loadOntology(),
  stats: { positions: [], greeting: 0 } as never,
});
// A worker killed between two steps: the next one starts from the saved JSON.
const saved = (s: Session): Session => JSON.parse(JSON.stringify(s)) as Session;

test('a role-swapped user turn is retried as its own step; a kill between the calls repeats neither', async () => {
  const llm = scripted(['Is there anything else I can help you with?', 'Something cheap, please.'], []);
  const start = hotelSession({ action: 'request', slot: 'hotel-pricerange' });
  const first = saved(await stepSession(start, deps(llm), { paraphrases: 0 }));
  expect(first.next).toBe('user_retry');
  expect(first.failures.map((f) => f.reason)).toEqual([REASON.USER_AS_AGENT]);
  expect(llm.calls).toEqual({ user: 1 });
  const second = await stepSession(first, deps(llm), { paraphrases: 0 });
  expect(second.next).toBe('label');
  expect(second.pending?.utterance).toBe('Something cheap, please.');
  expect(second.pending?.problem).toBeUndefined();
  expect(llm.calls).toEqual({ user: 2 });
  // Both calls stop at the next transcript line instead of decoding it.
  expect(llm.stops).toEqual([USER_STOP, USER_STOP]);
  // The retry states the problem without quoting the rejected words (quoted, they came back).
  const retry = llm.prompts[1]!.map((m) => m.content).join('\n');
  expect(retry).toContain('Your last try was rejected. That is what the agent would say.');
  expect(retry).not.toContain('Is there anything else I can help you with?');
  // ...and names the planned facts: told "with the facts given", the model restated old ones.
  expect(retry).toMatch(/\nYour message must mention: price range \w+\.$/);
});

test('a user turn cut off at its token limit keeps its whole sentences', async () => {
  const cut = {
    text: 'Something cheap, please. And I was also wondering whether the',
    finishReason: 'length',
  };
  const llm = scripted([cut], []);
  const next = await stepSession(hotelSession({ action: 'request', slot: 'hotel-pricerange' }), deps(llm), {
    paraphrases: 0,
  });
  expect(next.pending?.utterance).toBe('Something cheap, please.');
  expect(llm.limits).toEqual([USER_MAX_TOKENS]);
  expect(toLastSentence('No sentence end here')).toBe('No sentence end here');
  expect(toLastSentence('Is it free? Yes it is. And the')).toBe('Is it free? Yes it is.');
  expect(toLastSentence('I arrive at 12.30 and')).toBe('I arrive at 12.30 and'); // "12.30" is no sentence end
});

test('a second role swap in the retry rejects the attempt', async () => {
  const swap = 'How can I help you today?';
  const llm = scripted([swap, swap], []);
  const first = await stepSession(hotelSession({ action: 'inform' }), deps(llm), { paraphrases: 0 });
  const second = await stepSession(saved(first), deps(llm), { paraphrases: 0 });
  expect(second.next).toBe('done');
  expect(second.result).toEqual({ accepted: false, reason: REASON.USER_AS_AGENT });
});

/** The hotel session after the visitor's "Two nights.": the agent speaks next. */
function agentsTurn(lastSystem: Parameters<typeof hotelSession>[0]): Session {
  const s = hotelSession(lastSystem);
  s.turns.push({
    speaker: 'USER',
    utterance: 'Two nights.',
    intent: 'inform',
    state: { 'hotel-area': 'north' },
  } as never);
  s.next = 'system';
  return s;
}

test('an agent turn that repeats itself is retried as its own step with the same booking reference', async () => {
  const s = agentsTurn({ action: 'inform' });
  const repeat = s.turns[1]!.utterance; // "How many nights?"
  const llm = scripted(
    [],
    [
      { action: 'request', entity: null, slot: 'hotel-pricerange', utterance: repeat },
      { action: 'request', entity: null, slot: 'hotel-pricerange', utterance: 'What price range suits you?' },
    ],
  );
  const first = saved(await stepSession(s, deps(llm), {}));
  expect(first.next).toBe('system_retry');
  expect(first.failures.map((f) => f.reason)).toEqual([REASON.AGENT_REPEAT]);
  expect(systemProblem(first, repeat)).toBe(REASON.AGENT_REPEAT);
  const second = await stepSession(first, deps(llm), {});
  expect(second.next).toBe('user');
  expect(second.pendingSystem).toBeUndefined();
  expect(second.turns[second.turns.length - 1]!.utterance).toBe('What price range suits you?');
  expect(llm.calls).toEqual({ system: 2 });
  // The retry samples hotter and is not shown its first answer: at 0.5, shown it, the 1.5B model
  // gave the same booking confirmation twice.
  expect(llm.temperatures).toEqual([undefined, ECHO_RETRY_TEMPERATURE]);
  expect(llm.prompts[1]!.map((m) => m.role)).toEqual(llm.prompts[0]!.map((m) => m.role));
  expect(llm.prompts[1]!.at(-1)!.content).toMatch(
    /\nYour last try was rejected\. That repeats your previous turn/,
  );
});

test('userProblem passes a real first user turn of its planned facts', () => {
  const s = hotelSession({ action: 'inform' });
  s.turns = [];
  const move = { intent: 'inform' as const, domainIndex: 0, reveal: { 'hotel-area': 'north' } };
  expect(userProblem(s, move, "Sure, I'll tell you what I'm looking for.")).toBe(REASON.EMPTY_TURN);
  expect(userProblem(s, move, 'I need a place to stay in the north.')).toBeUndefined();
});

test('a later user turn that says none of its planned facts is empty too; one that says one passes', () => {
  const s = hotelSession({ action: 'inform' });
  expect(s.turns.some((t) => t.speaker === 'USER')).toBe(true);
  const move = {
    intent: 'book' as const,
    domainIndex: 0,
    reveal: { 'hotel-bookday': 'sunday', 'hotel-bookpeople': '8' },
  };
  // The 100-goal run of 2026-12-07, accepted before this check.
  expect(userProblem(s, move, 'Sure.')).toBe(REASON.EMPTY_TURN);
  expect(userProblem(s, move, 'Book it for 8 people from Sunday, please.')).toBeUndefined();
  // A goodbye carries no facts to say.
  expect(
    userProblem(s, { intent: 'end' as const, domainIndex: 0, reveal: {} }, 'Thanks, bye.'),
  ).toBeUndefined();
});

test('the retry of a repeated agent turn may not take the same action or ask for the same slot again', async () => {
  const s = agentsTurn({ action: 'request', slot: 'hotel-pricerange' });
  const facts = (prompt: ChatMessage[]) =>
    JSON.parse(/```json\n(.*)\n```/.exec(prompt.at(-1)!.content)![1]!) as {
      allowed: string[];
      missingSlots: string[];
    };
  const llm = scripted(
    [],
    [
      { action: 'request', entity: null, slot: 'hotel-pricerange', utterance: 'How many nights?' },
      { action: 'recommend', entity: null, slot: null, utterance: 'I recommend a guest house.' },
    ],
  );
  const first = saved(await stepSession(s, deps(llm), {}));
  expect(first.next).toBe('system_retry');
  const plan = facts(llm.prompts[0]!);
  expect(plan.allowed).toContain('request');
  expect(plan.missingSlots).toContain('hotel-pricerange');
  await stepSession(first, deps(llm), {}); // its answer does not matter here: its prompt does
  const retry = facts(llm.prompts[1]!);
  expect(retry.allowed).toEqual(plan.allowed.filter((a) => a !== 'request'));
  expect(retry.missingSlots).toEqual(plan.missingSlots.filter((x) => x !== 'hotel-pricerange'));
});

test('awayFromPrevious keeps the only action or slot there is', () => {
  const input = {
    allowed: ['book'],
    missingSlots: ['hotel-bookday'],
    history: [],
  } as never as SystemPromptInput;
  expect(awayFromPrevious(input, { action: 'book', slot: 'hotel-bookday' })).toEqual(input);
  expect(awayFromPrevious(input, undefined)).toBe(input);
});

test('an agent turn failed twice is written from the plan; the attempt goes on', async () => {
  const s = agentsTurn({ action: 'inform' });
  const repeat = s.turns[1]!.utterance; // "How many nights?"
  const answer = { action: 'request', entity: null, slot: 'hotel-pricerange', utterance: repeat };
  const llm = scripted([], [answer, answer]);
  const first = saved(await stepSession(s, deps(llm), {}));
  const second = await stepSession(first, deps(llm), {});
  expect(second.result).toBeUndefined();
  expect(second.next).toBe('user');
  expect(second.pendingSystem).toBeUndefined();
  const turn = second.turns[second.turns.length - 1]!;
  expect(turn.utterance).toBe('Do you need free wifi?'); // the first missing slot, as MultiWOZ agents ask it
  expect(turn).toMatchObject({ speaker: 'SYSTEM', action: 'request', slot: 'hotel-internet' });
  expect(second.failures.map((f) => f.reason)).toEqual([REASON.AGENT_REPEAT, REASON.AGENT_TEMPLATE]);
  expect(second.failures[1]!.detail).toMatch(
    /^agent_repeat again after a retry: How many nights\? — written/,
  );
  expect(llm.calls).toEqual({ system: 2 }); // no third call: the template is code
});

test('with agentTemplate off, an agent turn failed twice rejects the attempt as before', async () => {
  const s = agentsTurn({ action: 'inform' });
  const answer = {
    action: 'request',
    entity: null,
    slot: 'hotel-pricerange',
    utterance: s.turns[1]!.utterance,
  };
  const llm = scripted([], [answer, answer]);
  const first = saved(await stepSession(s, deps(llm), { agentTemplate: false }));
  const second = await stepSession(first, deps(llm), { agentTemplate: false });
  expect(second.result).toEqual({ accepted: false, reason: REASON.AGENT_REPEAT });
});

describe('a user turn failed twice', () => {
  let retriever: TurnRetriever;
  beforeAll(async () => {
    retriever = await loadTurnRetriever();
  }, 60_000);

  test("becomes a real visitor's turn for the same facts, then labelled as any other", async () => {
    const llm = scripted(['Sure.', 'Sure, go ahead.'], []);
    const d = { ...deps(llm), retriever };
    const start = hotelSession({ action: 'request', slot: 'hotel-pricerange' });
    const first = saved(await stepSession(start, d, { paraphrases: 0 }));
    expect(first.failures.map((f) => f.reason)).toEqual([REASON.EMPTY_TURN]);
    const second = await stepSession(first, d, { paraphrases: 0 });
    expect(second.result).toBeUndefined();
    expect(second.next).toBe('label');
    expect(second.failures.map((f) => f.reason)).toEqual([REASON.EMPTY_TURN, REASON.USER_EXAMPLE]);
    const turn = second.pending!.utterance!;
    const [slot, value] = Object.entries(second.pending!.reveal)[0]!;
    expect(slot).toBe('hotel-pricerange');
    expect(turn.toLowerCase()).toContain(value);
    expect(userProblem(second, second.pending!, turn)).toBeUndefined();
    expect(second.failures[1]!.detail).toContain(`a real visitor's turn instead: ${turn}`);
    expect(llm.calls).toEqual({ user: 2 });
  });

  test('a request without facts is asked plainly', async () => {
    const llm = scripted(['Sure, would you like to know the phone number?'], []);
    const s = hotelSession({ action: 'inform' });
    s.pending = {
      intent: 'request',
      domainIndex: 0,
      reveal: {},
      requests: ['phone', 'postcode'],
      utterance: 'Would you like to know the phone number?',
      problem: REASON.USER_AS_AGENT,
    } as never;
    s.next = 'user_retry';
    const next = await stepSession(s, { ...deps(llm), retriever }, { paraphrases: 0 });
    expect(next.result).toBeUndefined();
    expect(next.pending!.utterance).toBe('Could I get the phone number and postcode, please?');
    expect(next.failures.at(-1)).toMatchObject({ reason: REASON.USER_EXAMPLE });
    expect(next.failures.at(-1)!.detail).toMatch(/asked plainly instead: Could I get/);
  });

  test('rejects the attempt as before with userFallback off, or without a retriever', async () => {
    for (const [d, opts] of [
      [{ retriever }, { userFallback: false }],
      [{}, {}],
    ] as const) {
      const llm = scripted(['Sure.', 'Sure, go ahead.'], []);
      const all = { ...deps(llm), ...d };
      const start = hotelSession({ action: 'request', slot: 'hotel-pricerange' });
      const first = saved(await stepSession(start, all, { paraphrases: 0, ...opts }));
      const second = await stepSession(first, all, { paraphrases: 0, ...opts });
      expect(second.result).toEqual({ accepted: false, reason: REASON.EMPTY_TURN });
    }
  });
});
