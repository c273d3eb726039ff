/**
 * The agent's turn written from the plan (`simulator/agent-template.ts`) after the LLM failed it
 * twice: on real database entries, every action's template passes the same checks an LLM turn
 * must pass (grounded in the plan, the agent's voice, the booking reference given).
 */
import { loadVenueDb } from '../../multiwoz/venues';
import { templateAnswer } from '../../simulator/agent-template';
import { agentSpeaksAsUser } from '../../simulator/roles';
import { entityName, groundAnswer } from '../../simulator/system-policy';
import type { TrackedDomain } from '../../multiwoz/types';
import { SYSTEM_ACTION, type SystemAction, type SystemPromptInput } from '../../simulator/types';

const db = loadVenueDb();

function plan(domain: TrackedDomain, constraints: Record<string, string>, allowed: SystemAction[]) {
  const matches = db.query(domain, constraints);
  const input: SystemPromptInput = {
    domain,
    allowed,
    constraints,
    matchCount: matches.length,
    candidates: matches
      .slice(0, 5)
      .map((e) => ({ name: entityName(domain, e), ...db.entityAttributes(domain, e) })),
    missingSlots: [`${domain}-area`],
    bookingReference: 'ABCD1234',
    answers: { address: '12 regent street', phone: '01223355166' },
    history: [],
  };
  return { input, matches, domain };
}

test.each([
  ['hotel', { 'hotel-area': 'north', 'hotel-pricerange': 'cheap' }],
  ['restaurant', { 'restaurant-food': 'chinese', 'restaurant-area': 'centre' }],
  ['attraction', { 'attraction-type': 'museum' }],
  [
    'train',
    { 'train-departure': 'cambridge', 'train-destination': 'london kings cross', 'train-day': 'monday' },
  ],
  ['taxi', { 'taxi-destination': 'curry king' }],
] as const)('every action of a %s plan gives a grounded agent turn', (domain, constraints) => {
  for (const action of Object.values(SYSTEM_ACTION)) {
    const p = plan(domain, constraints, [action]);
    const answer = templateAnswer(p.input)!;
    expect(answer).toBeDefined();
    expect(answer.action).toBe(action);
    expect(groundAnswer(p, answer, db)).toMatchObject({ ok: true });
    expect(agentSpeaksAsUser(answer.utterance)).toBe(false);
    if (action === SYSTEM_ACTION.BOOK) expect(answer.utterance).toContain('ABCD1234');
    if (action === SYSTEM_ACTION.REQUEST) expect(answer.slot).toBe(`${domain}-area`);
  }
});

test('reads like a MultiWOZ agent', () => {
  const p = plan('hotel', { 'hotel-area': 'north', 'hotel-pricerange': 'cheap' }, ['inform']);
  expect(templateAnswer(p.input)!.utterance).toMatch(
    /^I have \d+ options\. One is [a-z ]+\. It is a cheap (?:guesthouse|hotel) in the north\.$/,
  );
  const train = plan('train', { 'train-departure': 'cambridge', 'train-day': 'monday' }, ['recommend']);
  expect(templateAnswer(train.input)!.utterance).toMatch(
    /^I would recommend TR\d{4}\. It leaves at \d\d:\d\d and arrives by \d\d:\d\d\.$/,
  );
});

test('a sentence starts with a capital, the name as the database spells it', () => {
  const p = plan('restaurant', { 'restaurant-food': 'portuguese', 'restaurant-area': 'centre' }, ['inform']);
  expect(templateAnswer({ ...p.input, matchCount: 1 })!.utterance).toMatch(
    /^Nandos city centre matches your request\./,
  );
});

test('no template when the plan lacks what the action needs', () => {
  const p = plan('hotel', { 'hotel-area': 'north' }, ['request']);
  expect(templateAnswer({ ...p.input, missingSlots: [] })).toBeUndefined();
  expect(templateAnswer({ ...p.input, allowed: ['book'], bookingReference: undefined })).toBeUndefined();
  expect(templateAnswer({ ...p.input, allowed: ['answer'], answers: {} })).toBeUndefined();
  expect(templateAnswer({ ...p.input, allowed: [] })).toBeUndefined();
});
