/**
 * Two causes of rejected local-model dialogues, fixed where they arise: a booking confirmation
 * without its reference (the reference is appended), and a user who ignored the agent's
 * question (the asked slot is revealed in the next user turn when the goal has a value).
 */
import { withReference } from '../../simulator/engine';
import type { Session } from '../../simulator/session';
import { hotelSession as session } from '../helpers/sessions';
import { planUserMove } from '../../simulator/user-policy';

test('a booking confirmation without its reference gets it; other answers are kept', () => {
  const book = { action: 'book' as const, entity: 'acorn guest house', slot: null, utterance: 'Booked!' };
  expect(withReference(book, 'AB12CD34').utterance).toBe('Booked! Your reference number is AB12CD34.');
  const said = { ...book, utterance: 'Booked, reference AB12CD34.' };
  expect(withReference(said, 'AB12CD34')).toBe(said);
  const inform = { ...book, action: 'inform' as const };
  expect(withReference(inform, 'AB12CD34')).toBe(inform);
  expect(withReference(book, undefined)).toBe(book);
});

test('the user answers the slot the agent asked for, besides the planned facts', () => {
  const plan = planUserMove(session({ action: 'request', slot: 'hotel-bookstay' }));
  expect('move' in plan && plan.move.reveal).toEqual({ 'hotel-bookstay': '2', 'hotel-pricerange': 'cheap' });
});

test('no answer for a slot outside the goal, already said, or without a question', () => {
  const reveal = (s: Session) => {
    const p = planUserMove(s);
    return 'move' in p ? p.move.reveal : undefined;
  };
  expect(reveal(session({ action: 'request', slot: 'hotel-stars' }))).toEqual({
    'hotel-pricerange': 'cheap',
  });
  expect(reveal(session({ action: 'request', slot: 'hotel-bookstay' }, ['hotel-bookstay']))).toEqual({
    'hotel-pricerange': 'cheap',
  });
  expect(reveal(session({ action: 'inform' }))).toEqual({ 'hotel-pricerange': 'cheap' });
});
