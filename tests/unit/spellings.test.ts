/** The annotators' spelling of a value (`simulator/spellings.ts`), on hand-made counts. */
import { createSpellings, respell, spellingKey } from '../../simulator/spellings';

test('two spellings of one value share a key; different values do not', () => {
  expect(spellingKey('The Copper Kettle')).toBe(spellingKey('copper kettle'));
  expect(spellingKey('pizza hut fen ditton')).toBe(spellingKey('pizza hut fenditton'));
  expect(spellingKey("saint john's college")).toBe(spellingKey('saint johns college'));
  expect(spellingKey('a & b guest house')).toBe(spellingKey('a and b guest house'));
  expect(spellingKey('17:15')).toBe(spellingKey('1715'));
  expect(spellingKey('theatre')).not.toBe(spellingKey('atre')); // only a whole leading word "the"
  expect(spellingKey('copper kettle')).not.toBe(spellingKey('kettle'));
});

test('the most frequent spelling wins, per slot; place slots fall back to any place slot', () => {
  const s = createSpellings();
  for (let i = 0; i < 3; i++) s.add('restaurant-name', 'copper kettle');
  s.add('restaurant-name', 'the copper kettle');
  s.add('restaurant-name', 'a|b'); // multi-values are not spellings
  s.add('attraction-name', 'cafe jello gallery');
  expect(s.spelling('restaurant-name', 'The Copper Kettle')).toBe('copper kettle');
  expect(s.spelling('taxi-destination', 'the cafe jello gallery')).toBe('cafe jello gallery');
  expect(s.spelling('restaurant-food', 'copper kettle')).toBeUndefined(); // not a place slot
  expect(s.spelling('restaurant-name', 'a|b')).toBeUndefined();
  expect(s.spelling('restaurant-name', '')).toBeUndefined();
});

test('respell changes only values with a known spelling, and leaves multi-values alone', () => {
  const s = createSpellings();
  s.add('restaurant-name', 'copper kettle');
  expect(
    respell({ 'restaurant-name': 'the copper kettle', 'restaurant-area': 'centre', 'hotel-name': 'x|y' }, s),
  ).toEqual({ 'restaurant-name': 'copper kettle', 'restaurant-area': 'centre', 'hotel-name': 'x|y' });
});
