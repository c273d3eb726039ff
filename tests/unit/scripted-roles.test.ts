import { InvalidLlmOutputError } from '../../llm/errors';
import { createOpenAiClient } from '../../llm/openai';
import type { LlmClient } from '../../llm/types';
import { loadOntology } from '../../multiwoz/ontology';
import { slotDomain, TRACKED_SLOTS } from '../../multiwoz/slots';
import { loadVenueDb } from '../../multiwoz/venues';
import {
  keepsAllValues,
  LABEL_ANSWER_NAME,
  labelPrompt,
  LabelAnswer,
  PARAPHRASE_ANSWER_NAME,
  paraphraseAnswerSchema,
  paraphrasePrompt,
  ROLE,
  slotDescription,
  SYSTEM_ANSWER_NAME,
  SystemAnswer,
  systemPrompt,
  userPrompt,
} from '../../simulator/prompts';
import {
  SYSTEM_ACTION,
  USER_INTENT,
  type HistoryLine,
  type LabelPromptInput,
  type SystemAction,
  type UserIntent,
  type UserPromptInput,
} from '../../simulator/types';
import type { TrackedDomain } from '../../multiwoz/types';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { INVENTED_ENTITY, scriptedRoles, UNKNOWN_SLOT_SUFFIX } from '../helpers/scripted-roles';

const ontology = loadOntology();
const db = loadVenueDb();

/** Label slots of some domains, as the pipeline would list them: schema values for categorical slots. */
function labelSlots(domains: string[]): LabelPromptInput['slots'] {
  return TRACKED_SLOTS.filter((s) => domains.includes(slotDomain(s))).map((slot) => {
    const values = ontology.possibleValues(slot).filter((v) => v !== 'dontcare');
    return values.length > 0
      ? { slot, description: slotDescription(slot), values }
      : { slot, description: slotDescription(slot) };
  });
}

let server: LlmServer;
let client: LlmClient;

beforeAll(async () => {
  server = await startLlmServer({ responder: scriptedRoles() });
  client = createOpenAiClient({ apiKey: 'sk-test', baseURL: server.url, model: 'test-model' });
});
beforeEach(() => {
  server.reset();
  server.setResponder(scriptedRoles());
});
afterAll(() => server.close());

const say = async (input: Partial<UserPromptInput>): Promise<string> => {
  const full: UserPromptInput = {
    persona: 'A first-time visitor.',
    domain: 'hotel',
    intent: USER_INTENT.INFORM,
    reveal: {},
    history: [],
    ...input,
  };
  return (await client.chat({ role: ROLE.USER, messages: userPrompt(full) })).text;
};

const labelOf = async (
  history: HistoryLine[],
  domains: string[],
  previous: Record<string, string> = {},
): Promise<Record<string, string>> => {
  const req = { history, previous, slots: labelSlots(domains) };
  const r = await client.structured({
    role: ROLE.LABELLER,
    messages: labelPrompt(req),
    schema: LabelAnswer,
    schemaName: LABEL_ANSWER_NAME,
  });
  return r.value.state;
};

describe('scripted roles over real HTTP', () => {
  test('user → paraphrase → label → system round trip', async () => {
    const reveal = { 'hotel-area': 'north', 'hotel-stars': '4' };
    const utterance = await say({ reveal });
    expect(utterance).toBe("I'm looking for a hotel in the north, with 4 stars.");

    const keep = Object.values(reveal);
    const para = await client.structured({
      role: ROLE.PARAPHRASER,
      messages: paraphrasePrompt({ utterance, keep, count: 3 }),
      schema: paraphraseAnswerSchema(3),
      schemaName: PARAPHRASE_ANSWER_NAME,
    });
    expect(para.value.rewrites).toHaveLength(3);
    expect(para.value.rewrites.every((r) => keepsAllValues(r, keep))).toBe(true);
    const chosen = para.value.rewrites[1] ?? '';
    expect(chosen).not.toBe(utterance);

    const history: HistoryLine[] = [{ speaker: 'USER', text: chosen }];
    expect(await labelOf(history, ['hotel'])).toEqual(reveal);

    const candidates = db.query('hotel', reveal).map((e) => db.entityAttributes('hotel', e));
    const system = await client.structured({
      role: ROLE.SYSTEM,
      messages: systemPrompt({
        domain: 'hotel',
        allowed: [SYSTEM_ACTION.INFORM, SYSTEM_ACTION.REQUEST],
        constraints: reveal,
        matchCount: candidates.length,
        candidates: candidates.slice(0, 5),
        missingSlots: ['hotel-pricerange'],
        history,
      }),
      schema: SystemAnswer,
      schemaName: SYSTEM_ANSWER_NAME,
    });
    const name = candidates[0]?.['hotel-name'];
    expect(name).toBe('acorn guest house');
    expect(system.value).toMatchObject({ action: 'inform', entity: name, slot: null });
    expect(system.value.utterance).toContain(name);
    expect(server.roleCounts()).toEqual({ user: 1, paraphraser: 1, labeller: 1, system: 1 });
  });

  test.each<[string, Partial<UserPromptInput>, string[], Record<string, string>]>([
    [
      'train with stations, day and times',
      {
        domain: 'train',
        reveal: {
          'train-departure': 'cambridge',
          'train-destination': 'london kings cross',
          'train-day': 'friday',
          'train-leaveat': '10:15',
          'train-arriveby': '13:00',
        },
      },
      ['train', 'hotel'],
      {},
    ],
    [
      'restaurant booking',
      {
        domain: 'restaurant',
        intent: USER_INTENT.BOOK,
        reveal: {
          'restaurant-bookpeople': '2',
          'restaurant-bookday': 'sunday',
          'restaurant-booktime': '19:30',
        },
      },
      ['restaurant', 'hotel'],
      { 'restaurant-name': 'pizza hut city centre' },
    ],
    [
      'names, food, dontcare and parking',
      {
        domain: 'restaurant',
        intent: USER_INTENT.RECOMMEND,
        reveal: { 'restaurant-food': 'modern european', 'restaurant-pricerange': 'dontcare' },
      },
      ['restaurant'],
      {},
    ],
    [
      'hotel with a taxi in another domain',
      {
        reveal: {
          'hotel-name': 'acorn guest house',
          'hotel-parking': 'yes',
          'hotel-internet': 'free',
          'taxi-destination': 'pizza hut city centre',
          'taxi-leaveat': '08:45',
        },
      },
      ['hotel', 'taxi'],
      {},
    ],
    [
      'a change replaces the earlier value',
      {
        intent: USER_INTENT.CHANGE,
        change: { slot: 'hotel-pricerange', from: 'expensive', to: 'moderate' },
      },
      ['hotel'],
      { 'hotel-pricerange': 'expensive', 'hotel-area': 'north' },
    ],
  ])('the scripted labeller reads the scripted user: %s', async (_name, input, domains, previous) => {
    const text = await say(input);
    const facts = { ...input.reveal };
    if (input.change) facts[input.change.slot] = input.change.to;
    for (const v of Object.values(facts)) if (v !== 'dontcare') expect(text).toContain(v);
    expect(await labelOf([{ speaker: 'USER', text }], domains, previous)).toEqual({ ...previous, ...facts });
  });

  test.each<[UserIntent, Partial<UserPromptInput>, string]>([
    [USER_INTENT.GREET, { domain: undefined }, 'Hello, I need some help planning my trip.'],
    [USER_INTENT.END, { domain: undefined }, 'Thanks, goodbye!'],
    [
      USER_INTENT.REQUEST,
      { requests: ['phone', 'postcode'] },
      'Could you tell me the phone number and postcode?',
    ],
    [
      USER_INTENT.BOOK,
      { reveal: { 'hotel-bookpeople': '2', 'hotel-bookday': 'friday', 'hotel-bookstay': '3' } },
      'Please book the hotel for 2 people, on friday, for 3 nights.',
    ],
    [USER_INTENT.CLOSE_DOMAIN, {}, "Thanks, that's all I need for the hotel."],
  ])('scripted user, intent %s', async (intent, input, expected) => {
    expect(await say({ intent, ...input })).toBe(expected);
  });

  test('system: request asks for the first missing slot; book gives the reference', async () => {
    const ask = async (
      allowed: SystemAction[],
      domain: TrackedDomain,
      candidates: Array<Record<string, string>>,
    ) =>
      (
        await client.structured({
          role: ROLE.SYSTEM,
          messages: systemPrompt({
            domain,
            allowed,
            constraints: {},
            matchCount: 30,
            candidates,
            missingSlots: ['train-day', 'train-departure'],
            bookingReference: 'A1B2C3D4',
            history: [],
          }),
          schema: SystemAnswer,
          schemaName: SYSTEM_ANSWER_NAME,
        })
      ).value;
    expect(await ask([SYSTEM_ACTION.REQUEST], 'train', [])).toMatchObject({
      action: 'request',
      slot: 'train-day',
      entity: null,
    });
    const booked = await ask([SYSTEM_ACTION.BOOK], 'train', [{ trainID: 'TR7075', leaveAt: '05:00' }]);
    expect(booked).toMatchObject({ action: 'book', entity: 'TR7075' });
    expect(booked.utterance).toContain('A1B2C3D4');
  });
});

describe('injected faults', () => {
  const history: HistoryLine[] = [
    { speaker: 'USER', text: "I'm looking for a hotel in the north, with 4 stars." },
  ];

  test.each([
    ['extra-slot', (s: Record<string, string>) => expect(Object.keys(s).length).toBe(3)],
    ['wrong-value', (s: Record<string, string>) => expect(s['hotel-area']).not.toBe('north')],
    ['unknown-slot', (s: Record<string, string>) => expect(s[`hotel-${UNKNOWN_SLOT_SUFFIX}`]).toBe('blue')],
  ] as const)('labellerNoise %s', async (noise, check) => {
    server.setResponder(scriptedRoles({ labellerNoise: noise }));
    const state = await labelOf(history, ['hotel']);
    check(state);
    expect(Object.keys(state).length).toBeGreaterThanOrEqual(2);
  });

  test('systemInventsEntity names a venue outside the candidates', async () => {
    server.setResponder(scriptedRoles({ systemInventsEntity: true }));
    const r = await client.structured({
      role: ROLE.SYSTEM,
      messages: systemPrompt({
        domain: 'hotel',
        allowed: [SYSTEM_ACTION.REQUEST, SYSTEM_ACTION.RECOMMEND],
        constraints: {},
        matchCount: 2,
        candidates: [{ name: 'acorn guest house' }],
        missingSlots: ['hotel-area'],
        history,
      }),
      schema: SystemAnswer,
      schemaName: SYSTEM_ANSWER_NAME,
    });
    expect(r.value).toMatchObject({ action: 'recommend', entity: INVENTED_ENTITY });
    expect(db.matchEntityName('hotel', INVENTED_ENTITY)).toBeUndefined();
  });

  test('invalidJsonFor fails the structured call after its one retry', async () => {
    server.setResponder(scriptedRoles({ invalidJsonFor: ROLE.LABELLER }));
    await expect(labelOf(history, ['hotel'])).rejects.toBeInstanceOf(InvalidLlmOutputError);
    expect(server.roleCounts()).toEqual({ labeller: 2 });
  });

  test('the role is read from the prompt when no header is sent', async () => {
    const respond = scriptedRoles();
    const messages = paraphrasePrompt({ utterance: 'Hi there.', keep: [], count: 2 });
    const answer = await respond({ messages, model: 'm', body: {}, structured: true });
    expect(answer).toEqual({ rewrites: ['Hi, Hi there.', 'Well, Hi there.'] });
  });
});
