import { jsonSchemaOf, validateAnswer } from '../../llm/structured';
import {
  cleanUserUtterance,
  EARLIER_LINES,
  entityLabel,
  factLabel,
  keepsAllValues,
  labelPrompt,
  LabelAnswer,
  ParaphraseAnswer,
  paraphraseAnswerSchema,
  paraphrasePrompt,
  ROLE,
  slotDescription,
  SystemAnswer,
  SYSTEM_FACTS_HEADING,
  systemPrompt,
  USER_INSTRUCTION_HEADING,
  userPrompt,
} from '../../simulator/prompts';
import {
  SYSTEM_ACTION,
  USER_INTENT,
  type HistoryLine,
  type LabelPromptInput,
  type SystemPromptInput,
  type UserIntent,
  type UserPromptInput,
} from '../../simulator/types';

const PERSONA = 'A retired teacher from Leeds visiting with her husband; polite and brief.';
const HISTORY: HistoryLine[] = [
  { speaker: 'USER', text: 'Hello, I need some help planning my trip.' },
  { speaker: 'SYSTEM', text: 'Hello, welcome to the Cambridge TownInfo centre. How can I help?' },
];

const userInput = (over: Partial<UserPromptInput> = {}): UserPromptInput => ({
  persona: PERSONA,
  domain: 'hotel',
  intent: USER_INTENT.INFORM,
  reveal: { 'hotel-area': 'north', 'hotel-stars': '4' },
  history: HISTORY,
  ...over,
});

// Records as the hotel table has them (db/hotel_db.json), trimmed to the informable fields.
const ACORN = {
  name: 'acorn guest house',
  area: 'north',
  pricerange: 'moderate',
  stars: '4',
  type: 'guesthouse',
  parking: 'yes',
  internet: 'yes',
};
const ARBURY = { ...ACORN, name: 'arbury lodge guesthouse' };

const systemInput: SystemPromptInput = {
  domain: 'hotel',
  allowed: [SYSTEM_ACTION.REQUEST, SYSTEM_ACTION.INFORM],
  constraints: { 'hotel-area': 'north', 'hotel-stars': '4' },
  matchCount: 8,
  candidates: [ACORN, ARBURY],
  missingSlots: ['hotel-pricerange', 'hotel-type', 'hotel-parking'],
  history: [...HISTORY, { speaker: 'USER', text: "I'm looking for a hotel in the north with 4 stars." }],
};

// Descriptions and values as in MultiWOZ 2.2 schema.json.
const HOTEL_SLOTS: LabelPromptInput['slots'] = [
  {
    slot: 'hotel-area',
    description: 'area or place of the hotel',
    values: ['centre', 'east', 'north', 'south', 'west'],
  },
  { slot: 'hotel-stars', description: 'star rating of the hotel', values: ['0', '1', '2', '3', '4', '5'] },
  {
    slot: 'hotel-pricerange',
    description: 'price budget of the hotel',
    values: ['expensive', 'cheap', 'moderate'],
  },
  { slot: 'hotel-name', description: 'name of the hotel' },
];

const labelInput: LabelPromptInput = {
  history: [
    ...systemInput.history,
    { speaker: 'SYSTEM', text: 'I found 8 options. What price range would you like?' },
    { speaker: 'USER', text: "The price doesn't matter, but I'd like acorn guest house." },
  ],
  previous: { 'hotel-area': 'north', 'hotel-stars': '4' },
  slots: HOTEL_SLOTS,
};

describe('user prompt', () => {
  test('snapshot: inform after a greeting', () => {
    expect(userPrompt(userInput())).toMatchSnapshot();
  });

  test.each(Object.values(USER_INTENT))('snapshot of the instruction for intent %s', (intent: UserIntent) => {
    const extra: Partial<UserPromptInput> = {
      greet: { domain: undefined, reveal: {}, history: [] },
      inform: {},
      change: {
        reveal: {},
        change: { slot: 'hotel-pricerange', from: 'expensive', to: 'moderate' },
      },
      recommend: { reveal: {} },
      request: { reveal: {}, requests: ['phone', 'postcode'] },
      book: { reveal: { 'hotel-bookpeople': '2', 'hotel-bookday': 'friday', 'hotel-bookstay': '3' } },
      close_domain: { reveal: {} },
      end: { domain: undefined, reveal: {} },
    }[intent];
    const messages = userPrompt(userInput({ intent, ...extra }));
    expect(messages.at(-1)?.content).toMatchSnapshot();
  });

  test('a bounded window shows the latest lines and says that earlier ones are left out', () => {
    const history: HistoryLine[] = [
      { speaker: 'USER', text: 'I want a restaurant in the north.' },
      { speaker: 'SYSTEM', text: 'Da Vinci Pizzeria is in the north.' },
      { speaker: 'USER', text: 'Anything expensive?' },
      { speaker: 'SYSTEM', text: 'Restaurant Two Two is expensive.' },
      { speaker: 'USER', text: 'Sounds good.' },
      { speaker: 'SYSTEM', text: 'Shall I book it?' },
    ];
    const body = (lines?: number) => userPrompt(userInput({ history, historyLines: lines })).at(-1)!.content;
    const shown = body(4);
    expect(shown).toContain(`Conversation so far:\n${EARLIER_LINES}\nYou: Anything expensive?\n`);
    expect(shown).not.toContain('in the north');
    expect(shown).toContain('Agent: Shall I book it?');
    for (const all of [body(), body(Infinity), body(6)]) {
      expect(all).not.toContain(EARLIER_LINES);
      expect(all).toContain('You: I want a restaurant in the north.');
    }
  });

  test("the dialogue is a transcript from the visitor's side in one message, and it only grows", () => {
    const history: HistoryLine[] = [...HISTORY, { speaker: 'USER', text: 'I need a place to stay.' }];
    const messages = userPrompt(userInput({ history }));
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    const body = messages[1]?.content ?? '';
    expect(body).toContain('\nYou: I need a place to stay.');
    expect(body).toMatch(/\nAgent: Hello, welcome/);
    expect(body).not.toMatch(/^(USER|SYSTEM):/m);
    // The next call's prompt starts with this one's transcript: a local model reuses its cache.
    const next = userPrompt(userInput({ history: [...history, { speaker: 'SYSTEM', text: 'Which area?' }] }));
    const transcript = body.slice(0, body.indexOf('\n\n[Your next message]'));
    expect(next[1]?.content.startsWith(transcript)).toBe(true);
  });

  test('never shows slot names, writes dontcare as words, prefixes other domains', () => {
    const text = userPrompt(
      userInput({ reveal: { 'hotel-pricerange': 'dontcare', 'taxi-departure': 'acorn guest house' } }),
    )
      .map((m) => m.content)
      .join('\n');
    expect(text).not.toMatch(/hotel-|taxi-|dontcare/);
    expect(text).toContain("- price range: doesn't matter");
    expect(text).toContain('- taxi pick-up place: acorn guest house');
    // The task names it too: the fact line alone was ignored by the default model.
    expect(text).toContain("Say that the price range doesn't matter to you.");
  });

  test("a booking with no facts left asks in the visitor's words, with no agent phrase to copy", () => {
    const last = userPrompt(userInput({ intent: USER_INTENT.BOOK, reveal: {} })).at(-1)?.content ?? '';
    expect(last).toContain('Task: Say that you want it and ask the agent to make the booking.');
    // "…book it for you" in the task came back as the agent's "I'll go ahead and book it for you".
    expect(last).not.toMatch(/for you\b/);
  });

  test('a change states the new value as a fact', () => {
    const input = userInput({
      intent: USER_INTENT.CHANGE,
      reveal: {},
      change: { slot: 'hotel-stars', from: '5', to: '4' },
    });
    const last = userPrompt(input).at(-1)?.content ?? '';
    expect(last).toContain('star rating (5)');
    expect(last).toContain('- star rating: 4');
  });
});

describe('system prompt', () => {
  test('snapshot: many hotels in the north', () => {
    expect(systemPrompt(systemInput)).toMatchSnapshot();
  });

  test('snapshot: booking a train', () => {
    const input: SystemPromptInput = {
      domain: 'train',
      allowed: [SYSTEM_ACTION.BOOK],
      constraints: {
        'train-departure': 'cambridge',
        'train-destination': 'london kings cross',
        'train-day': 'monday',
      },
      matchCount: 1,
      candidates: [{ trainID: 'TR7075', leaveAt: '05:00', arriveBy: '05:51', price: '23.60 pounds' }],
      missingSlots: [],
      bookingReference: 'A1B2C3D4',
      history: [{ speaker: 'USER', text: 'Please book the train for 2 people.' }],
    };
    expect(systemPrompt(input)).toMatchSnapshot();
  });

  test('the facts block is one parseable JSON object with exact names', () => {
    const text = systemPrompt(systemInput).at(-1)?.content ?? '';
    const json = /Facts:\n```json\n(.*)\n```/.exec(text)?.[1] ?? '';
    const facts = JSON.parse(json) as { candidates: Array<Record<string, string>>; allowed: string[] };
    expect(facts.candidates.map((c) => c.name)).toEqual(['acorn guest house', 'arbury lodge guesthouse']);
    expect(facts.allowed).toEqual(['request', 'inform']);
  });

  test('entityLabel reads venue names and train ids', () => {
    expect(entityLabel(ACORN)).toBe('acorn guest house');
    expect(entityLabel({ trainID: 'TR7075' })).toBe('TR7075');
    expect(entityLabel({ 'restaurant-name': 'pizza hut city centre' })).toBe('pizza hut city centre');
    expect(entityLabel({ area: 'north' })).toBeUndefined();
  });
});

describe('paraphrase and label prompts', () => {
  test('snapshot: paraphrase', () => {
    const input = {
      utterance: "I'm looking for a hotel in the north with 4 stars.",
      keep: ['north', '4'],
      count: 3,
    };
    expect(paraphrasePrompt(input)).toMatchSnapshot();
  });

  test('snapshot: label', () => {
    expect(labelPrompt(labelInput)).toMatchSnapshot();
  });

  test('label slot lines list categorical values with dontcare, free slots without', () => {
    const text = labelPrompt(labelInput).at(-1)?.content ?? '';
    expect(text).toContain(
      '- hotel-area (area or place of the hotel): centre, east, north, south, west, dontcare',
    );
    expect(text).toContain('- hotel-name (name of the hotel)\n');
    expect(text).toContain('Previous state: {"hotel-area":"north","hotel-stars":"4"}');
  });
});

describe('slot words', () => {
  test.each([
    ['hotel-pricerange', 'price range'],
    ['hotel-bookstay', 'number of nights'],
    ['train-leaveat', 'leave after'],
    ['taxi-leaveat', 'leave at'],
    ['attraction-type', 'type of attraction'],
    ['phone', 'phone number'],
    ['restaurant-postcode', 'postcode'],
    ['hotel-bookfoo', 'booking foo'],
  ])('%s → %s', (slot, words) => expect(slotDescription(slot)).toBe(words));

  test('fact labels name the domain only when it is not the turn domain', () => {
    expect(factLabel('hotel-area', 'hotel')).toBe('area');
    expect(factLabel('taxi-destination', 'hotel')).toBe('taxi drop-off place');
  });

  test('four distinct roles, each prompt recognisable as its own role (and as no other)', () => {
    // Role names key the loopback server's scripts, the local model's KV-cache slots and the
    // usage table; the markers are how a prompt is recognised when no role header comes along.
    expect(new Set(Object.values(ROLE)).size).toBe(4);
    const text = (m: Array<{ content: string }>) => m.map((x) => x.content).join('\n');
    const prompts: Record<string, string> = {
      [ROLE.USER]: text(userPrompt(userInput())),
      [ROLE.SYSTEM]: text(systemPrompt(systemInput)),
      [ROLE.PARAPHRASER]: text(
        paraphrasePrompt({ utterance: 'A hotel up north, 4 stars.', keep: ['north', '4'], count: 3 }),
      ),
      [ROLE.LABELLER]: text(labelPrompt(labelInput)),
    };
    const markers: Record<string, string> = {
      [ROLE.USER]: USER_INSTRUCTION_HEADING,
      [ROLE.SYSTEM]: `${SYSTEM_FACTS_HEADING}\n\`\`\`json`,
      [ROLE.PARAPHRASER]: 'Keep verbatim: ',
      [ROLE.LABELLER]: 'Previous state: ',
    };
    expect(Object.keys(prompts).sort()).toEqual(Object.values(ROLE).sort());
    for (const [role, prompt] of Object.entries(prompts))
      for (const [other, marker] of Object.entries(markers))
        expect([role, other, prompt.includes(marker)]).toEqual([role, other, role === other]);
  });
});

describe('answer schemas', () => {
  test('SystemAnswer accepts a grounded answer and defaults missing entity/slot to null', () => {
    const ok = SystemAnswer.parse({
      action: 'request',
      slot: 'hotel-pricerange',
      utterance: 'What price range?',
    });
    expect(ok).toEqual({
      action: 'request',
      entity: null,
      slot: 'hotel-pricerange',
      utterance: 'What price range?',
    });
    const named = {
      action: 'inform',
      entity: 'acorn guest house',
      slot: null,
      utterance: 'Try acorn guest house.',
    };
    expect(SystemAnswer.parse(named)).toEqual(named);
  });

  test('SystemAnswer rejects unknown actions, empty utterances and wrong types', () => {
    expect(
      SystemAnswer.safeParse({ action: 'suggest', entity: null, slot: null, utterance: 'Hi' }).success,
    ).toBe(false);
    expect(SystemAnswer.safeParse({ action: 'bye', entity: null, slot: null, utterance: '' }).success).toBe(
      false,
    );
    expect(SystemAnswer.safeParse({ action: 'inform', entity: 3, slot: null, utterance: 'x' }).success).toBe(
      false,
    );
    const r = validateAnswer(
      SystemAnswer,
      '```json\n{"action":"greet","entity":null,"slot":null,"utterance":"Hello"}\n```',
    );
    expect(r.ok).toBe(true);
  });

  test('SystemAnswer JSON schema lists every field and the action enum', () => {
    const schema = jsonSchemaOf(SystemAnswer) as {
      required: string[];
      properties: { action: { enum: string[] } };
    };
    expect(schema.required).toEqual(['action', 'entity', 'slot', 'utterance']);
    expect(schema.properties.action.enum).toEqual(Object.values(SYSTEM_ACTION));
  });

  test('ParaphraseAnswer, exact count and kept values', () => {
    expect(ParaphraseAnswer.safeParse({ rewrites: ['a', 'b'] }).success).toBe(true);
    expect(ParaphraseAnswer.safeParse({ rewrites: [] }).success).toBe(false);
    expect(ParaphraseAnswer.safeParse({ rewrites: 'a' }).success).toBe(false);
    expect(paraphraseAnswerSchema(3).safeParse({ rewrites: ['a', 'b', 'c'] }).success).toBe(true);
    expect(paraphraseAnswerSchema(3).safeParse({ rewrites: ['a', 'b'] }).success).toBe(false);
    expect(keepsAllValues('North side, 4 stars please', ['north', '4'])).toBe(true);
    expect(keepsAllValues('Somewhere up north', ['north', '4'])).toBe(false);
  });

  test('LabelAnswer takes string values, coerces numbers and booleans, rejects nesting', () => {
    const r = LabelAnswer.parse({
      state: { 'hotel-area': 'north', 'hotel-stars': 4, 'hotel-parking': true },
    });
    expect(r.state).toEqual({ 'hotel-area': 'north', 'hotel-stars': '4', 'hotel-parking': 'true' });
    expect(LabelAnswer.safeParse({ state: { 'hotel-area': { value: 'north' } } }).success).toBe(false);
    expect(LabelAnswer.safeParse({ 'hotel-area': 'north' }).success).toBe(false);
    const schema = jsonSchemaOf(LabelAnswer) as { properties: { state: { additionalProperties: unknown } } };
    expect(schema.properties.state.additionalProperties).toEqual({ type: 'string', maxLength: 80 });
  });
});

describe('cleanUserUtterance', () => {
  test('drops a speaker label, a further transcript line and wrapping quotes', () => {
    expect(cleanUserUtterance("Agent: I'm looking for a train to Ely.")).toBe(
      "I'm looking for a train to Ely.",
    );
    expect(cleanUserUtterance('You: A cheap hotel, please.\nAgent: Sure, which area?')).toBe(
      'A cheap hotel, please.',
    );
    expect(cleanUserUtterance('"Any area is fine."')).toBe('Any area is fine.');
    // Seen in accepted dialogues of the 10-goal run.
    expect(
      cleanUserUtterance(
        'Sure, here\'s the next message:\n"Great, can I please book this train for 5 people?"',
      ),
    ).toBe('Great, can I please book this train for 5 people?');
    expect(cleanUserUtterance('Certainly. "Thanks, Agent! I\'d love to book it for 3 nights."')).toBe(
      "Thanks, Agent! I'd love to book it for 3 nights.",
    );
    expect(cleanUserUtterance('Sure, I said "north" earlier.')).toBe('Sure, I said "north" earlier.');
    expect(cleanUserUtterance('I need a taxi to the station.')).toBe('I need a taxi to the station.');
    expect(cleanUserUtterance('Agent:')).toBe('Agent:');
  });
});
