/**
 * A goal value the user says before the reveal plan gets to it (the venue the agent offered) is
 * revealed for the labeller's checks, so the state keeps it; bare numbers and dontcare are not.
 */
import { saidEarly } from '../../simulator/engine';

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
