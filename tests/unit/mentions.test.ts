/** `isMentioned` (simulator/mentions.ts), the fuzzy text test behind the rule checks. */
import { isMentioned, mentionedAny, prepare } from '../../simulator/mentions';

describe('isMentioned', () => {
  test.each([
    ['train-leaveat', '17:15', 'I want to leave after 5:15 pm .', true],
    ['train-leaveat', '17:15', 'leaving after 1715 please', true],
    ['train-leaveat', '17:15', 'leave at 17.15', true],
    ['train-leaveat', '17:15', 'some time after 5:15', true],
    ['train-leaveat', '17:15', 'some time after 5:15 am', false],
    ['train-arriveby', '09:00', 'I need to arrive by 9 .', true],
    ['train-arriveby', '09:00', 'I need to arrive by 10 .', false],
    ['hotel-area', 'dontcare', "I do n't have an area preference", true],
    ['hotel-area', 'dontcare', 'It does not matter to me', true],
    ['hotel-area', 'dontcare', 'any part of town is fine', true],
    ['hotel-area', 'dontcare', 'I want the north', false],
    [
      'hotel-pricerange',
      'dontcare',
      'A 4-star hotel in the north without considering the price range.',
      true,
    ],
    ['hotel-pricerange', 'dontcare', 'Regardless of the price, please.', true],
    ['hotel-parking', 'yes', 'it needs free parking', true],
    ['hotel-internet', 'yes', 'with wifi please', true],
    ['hotel-internet', 'yes', 'in the north please', false],
    ['taxi-destination', 'pizza hut fenditton', 'a taxi to Pizza Hut Fen Ditton .', true],
    ['attraction-name', 'christ college', "The first one is Christ 's College .", true],
    ['taxi-departure', 'saint johns college', "from Saint John 's college", true],
    ['hotel-name', 'university arms hotel', 'book The University Arms for me', true],
    ['restaurant-food', 'european', 'a Europeon restaurant', true],
    ['attraction-type', 'museum', 'any good museums ?', true],
    ['hotel-area', 'centre', 'somewhere central', true],
    ['hotel-area', 'east', 'at least 4 stars', false],
    ['attraction-type', 'park', 'free parking', false],
    ['hotel-bookpeople', '2', 'for two people', true],
    ['hotel-bookpeople', '2', 'the phone is 01223 351880', false],
    ['train-bookpeople', '1', 'I only need a ticket for myself .', true],
    ['train-departure', 'stansted airport', 'I need to depart from Stansted', true],
    ['train-departure', 'london kings cross', 'from London please', false],
  ])('%s=%s in %j → %s', (slot, value, text, expected) => {
    expect(isMentioned(slot, value, text)).toBe(expected);
  });
});

describe('mentionedAny', () => {
  test('any of several prepared utterances, any of the `a|b` alternatives', () => {
    const texts = [prepare('I need a hotel .'), prepare('somewhere in the north please')];
    expect(mentionedAny(texts, 'hotel-area', 'north')).toBe(true);
    expect(mentionedAny(texts, 'hotel-area', 'south|north')).toBe(true);
    expect(mentionedAny(texts, 'hotel-area', 'south')).toBe(false);
  });
});
