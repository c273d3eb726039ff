/**
 * Two causes of rejected local-model dialogues, fixed where they arise: a booking confirmation
 * without its reference (the reference is appended), and a user who ignored the agent's
 * question (the asked slot is revealed in the next user turn when the goal has a value).
 */
import { newDomainProgress, withReference } from '../../simulator/engine';
import type { Session } from '../../simulator/session';
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

function session(lastSystem: { action: string; slot?: string }, revealed: string[] = []): Session {
  return {
    version: 1,
    goalIndex: 0,
    attempt: 1,
    goal: {
      origin: 'real',
      domains: [
        {
          domain: 'hotel',
          constraints: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap' },
          book: { 'hotel-bookstay': '2', 'hotel-bookpeople': '6' },
          requests: [],
        },
      ],
    },
    plan: { greeting: false, domains: [{ domain: 'hotel', turns: [['hotel-pricerange'], []] }] },
    persona: 'p',
    rng: 1,
    next: 'user',
    domainIndex: 0,
    domains: [{ ...newDomainProgress('hotel'), userTurns: 1 }],
    revealed: ['hotel-area', ...revealed],
    turns: [
      {
        speaker: 'USER',
        utterance: 'A hotel in the north.',
        intent: 'inform',
        state: { 'hotel-area': 'north' },
      },
      {
        speaker: 'SYSTEM',
        utterance: 'How many nights?',
        action: lastSystem.action,
        ...(lastSystem.slot ? { slot: lastSystem.slot } : {}),
      },
    ],
    failures: [],
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
  } as unknown as Session;
}

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
