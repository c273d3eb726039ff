/**
 * A simulator session one exchange into a hotel goal (area and price range, a 2-night booking for
 * 6): the user said "A hotel in the north.", the agent answered "How many nights?" with `lastSystem`.
 */
import { newDomainProgress } from '../../simulator/engine';
import type { Session } from '../../simulator/session';

export function hotelSession(
  lastSystem: { action: string; slot?: string },
  revealed: string[] = [],
): Session {
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
