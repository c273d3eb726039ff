/**
 * A goal value the user says before the reveal plan gets to it (the venue the agent offered) is
 * revealed for the labeller's checks, so the state keeps it; bare numbers and dontcare are not.
 */
import { offeredNames, saidEarly } from '../../simulator/engine';
import type { Session } from '../../simulator/session';

test('the offered venue the user names is revealed; unsaid or ambiguous values are not', () => {
  const planned = {
    'restaurant-food': 'japanese',
    'restaurant-name': 'wagamama',
    'restaurant-area': 'centre',
    'restaurant-bookpeople': '2',
    'restaurant-pricerange': 'dontcare',
  };
  expect(saidEarly(planned, "Sure, I'm looking for Wagamama, 2 people, any price.")).toEqual([
    'restaurant-name',
  ]);
  expect(saidEarly(planned, 'Something Japanese in the centre, please.').sort()).toEqual([
    'restaurant-area',
    'restaurant-food',
  ]);
  expect(saidEarly(planned, undefined)).toEqual([]);
});

test('a venue the agent offered counts when the user names it, unless the goal names its own', () => {
  const session = (domain: string, constraints: Record<string, string>, entity?: string) =>
    ({
      goal: { domains: [{ domain, constraints, book: {}, requests: [] }] },
      domains: [{ entity }],
    }) as unknown as Session;
  const offered = offeredNames(session('restaurant', { 'restaurant-food': 'japanese' }, 'wagamama'), 0);
  expect(offered).toEqual({ 'restaurant-name': 'wagamama' });
  // The sampled goal of the first simulate run: the user said the name and the state lacked it.
  const planned = { ...offered, 'restaurant-food': 'japanese', 'restaurant-area': 'centre' };
  expect(
    saidEarly(planned, "I'm looking for Japanese food at the Wagamama restaurant in the centre.").sort(),
  ).toEqual(['restaurant-area', 'restaurant-food', 'restaurant-name']);
  expect(saidEarly(planned, 'Thanks, what else is there?')).toEqual([]);
  expect(offeredNames(session('restaurant', { 'restaurant-name': 'nandos' }, 'wagamama'), 0)).toEqual({});
  expect(offeredNames(session('train', { 'train-day': 'sunday' }, 'TR8092'), 0)).toEqual({});
  expect(offeredNames(session('hotel', { 'hotel-area': 'north' }), 0)).toEqual({});
});
