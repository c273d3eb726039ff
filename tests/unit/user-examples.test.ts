/**
 * The user agent's worked example (`simulator/user-examples.ts`): a real training turn with the
 * same kinds of facts, values swapped. Hand-made turns for the swap rules; the real offline 2.1
 * training split for the index (never a dev or test dialogue) and for what the prompt shows.
 */
import path from 'node:path';
import { loadSplitList } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';
import { loadTurnRetriever, type TurnRetriever, type UpdateTurn } from '../../simulator/retrieval';
import { detokenize, relexicalize, visitorExample } from '../../simulator/user-examples';
import { USER_EXAMPLE_LINE, userPrompt } from '../../simulator/prompts/user';
import { USER_INTENT } from '../../simulator/types';
import { isMentioned } from '../../simulator/mentions';

const turn = (user: string, update: Record<string, string>, state = update): UpdateTurn => ({
  dialogueId: 'X',
  user,
  update,
  state,
});

test('the 2.1 tokenized text is written as a person would', () => {
  expect(detokenize('i am looking for place -s to go in the south . is it free ?')).toBe(
    'I am looking for places to go in the south. Is it free?',
  );
  expect(detokenize("yes , i 'd like that")).toBe("Yes, I'd like that");
});

test('values are swapped for the planned ones, all at once', () => {
  const t = turn('i need a cheap place in the north .', {
    'hotel-pricerange': 'cheap',
    'hotel-area': 'north',
  });
  expect(relexicalize(t, { 'hotel-pricerange': 'expensive', 'hotel-area': 'south' })).toBe(
    'I need a expensive place in the south.',
  );
  // A new value that spells another slot's old one is not swapped twice.
  expect(relexicalize(t, { 'hotel-pricerange': 'north', 'hotel-area': 'cheap' })).toBe(
    'I need a north place in the cheap.',
  );
});

test('a value the plan shares is kept as said, when said', () => {
  const t = turn('i need free wifi in the north .', { 'hotel-internet': 'yes', 'hotel-area': 'north' });
  expect(relexicalize(t, { 'hotel-internet': 'yes', 'hotel-area': 'east' })).toBe(
    'I need free wifi in the east.',
  );
  expect(relexicalize(t, { 'hotel-internet': 'no', 'hotel-area': 'east' })).toBeUndefined(); // "yes" is not written
});

test('a turn is refused when the swap would not be clean', () => {
  const facts = { 'hotel-bookpeople': '3', 'hotel-bookstay': '5' };
  // The same value for two slots: which "2" is which?
  expect(
    relexicalize(turn('2 people for 2 nights .', { 'hotel-bookpeople': '2', 'hotel-bookstay': '2' }), facts),
  ).toBeUndefined();
  // A value not written word for word.
  expect(
    relexicalize(turn('two people , 4 nights .', { 'hotel-bookpeople': '2', 'hotel-bookstay': '4' }), facts),
  ).toBeUndefined();
  // Another value of the state said again ("to cambridge" from an earlier turn).
  expect(
    relexicalize(
      turn(
        'i need to leave on monday to cambridge .',
        { 'train-day': 'monday' },
        { 'train-day': 'monday', 'train-destination': 'cambridge' },
      ),
      { 'train-day': 'friday' },
    ),
  ).toBeUndefined();
  // A move the plan did not give: asking for the postcode too.
  expect(
    relexicalize(turn('a museum . what is the postcode ?', { 'attraction-type': 'museum' }), {
      'attraction-type': 'park',
    }),
  ).toBeUndefined();
  // dontcare is said in too many ways to swap.
  expect(
    relexicalize(turn('any area is fine .', { 'hotel-area': 'dontcare' }), { 'hotel-area': 'north' }),
  ).toBeUndefined();
  expect(
    relexicalize(turn('the north .', { 'hotel-area': 'north' }), { 'hotel-area': 'dontcare' }),
  ).toBeUndefined();
});

describe('on the real training split', () => {
  let retriever: TurnRetriever;
  let heldOut: Set<string>;
  beforeAll(async () => {
    retriever = await loadTurnRetriever();
    const dir = path.join(multiwozDir(), '2.1');
    heldOut = new Set([
      ...(await loadSplitList(path.join(dir, 'testListFile'))),
      ...(await loadSplitList(path.join(dir, 'valListFile'))),
    ]);
  }, 60_000);

  test('turns with the same update slots come from the training split only', () => {
    const slots = ['restaurant-area', 'restaurant-food', 'restaurant-pricerange'];
    const same = retriever.sameUpdate([...slots].reverse());
    expect(same.length).toBeGreaterThan(20);
    for (const t of same) {
      expect(Object.keys(t.update).sort()).toEqual(slots);
      expect(heldOut.has(t.dialogueId)).toBe(false);
    }
    expect(retriever.sameUpdate(['no-such-slot'])).toEqual([]);
  });

  test('the example says exactly the planned values, the same one for the same key', () => {
    const facts = {
      'train-day': 'wednesday',
      'train-departure': 'norwich',
      'train-destination': 'cambridge',
    };
    const example = visitorExample(retriever, facts, '3/1/0')!;
    expect(example).toBeDefined();
    for (const v of Object.values(facts)) expect(example.toLowerCase()).toContain(v);
    expect(visitorExample(retriever, facts, '3/1/0')).toBe(example);
    // A value the plan shares with the real turn stays as the visitor said it.
    const wifi = visitorExample(retriever, { 'hotel-internet': 'yes', 'hotel-area': 'west' }, 'k')!;
    expect(isMentioned('hotel-internet', 'yes', wifi) && isMentioned('hotel-area', 'west', wifi)).toBe(true);
    const any = visitorExample(retriever, { 'hotel-area': 'dontcare' }, 'k')!;
    expect(isMentioned('hotel-area', 'dontcare', any)).toBe(true);
    expect(visitorExample(retriever, {}, 'k')).toBeUndefined();
  });

  test("the user's prompt shows it after the facts", () => {
    const example = 'I need a train from norwich on wednesday.';
    const msgs = userPrompt({
      persona: 'p',
      domain: 'train',
      intent: USER_INTENT.INFORM,
      reveal: { 'train-departure': 'norwich', 'train-day': 'wednesday' },
      history: [],
      example,
    });
    const text = msgs[msgs.length - 1]!.content;
    expect(text).toContain(`${USER_EXAMPLE_LINE} "${example}"`);
    expect(text.indexOf(USER_EXAMPLE_LINE)).toBeGreaterThan(text.indexOf('- day of travel: wednesday'));
  });
});
