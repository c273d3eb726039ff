import type { TrackedDomain } from '../multiwoz/types';

/** Where a goal came from (DESIGN.md §3.1). */
export const GOAL_ORIGIN = { REAL: 'real', DATABASE: 'database' } as const;
export type GoalOrigin = (typeof GOAL_ORIGIN)[keyof typeof GOAL_ORIGIN];

/**
 * A planned preference change: the user first asks for `from`, the database finds nothing,
 * and the user relaxes the slot to `to`, which has results.
 */
export interface PreferenceChange {
  slot: string;
  from: string;
  to: string;
}

/** What the user wants in one domain. Slots are canonical (`hotel-pricerange`). */
export interface DomainGoal {
  domain: TrackedDomain;
  /** Search constraints, in the order the source revealed them; final values. */
  constraints: Record<string, string>;
  /** Booking values (`hotel-bookday`, `restaurant-booktime`, …); empty when not booking. */
  book: Record<string, string>;
  /** Properties the user will ask about (address, phone, postcode, …). */
  requests: string[];
  change?: PreferenceChange;
}

export interface Goal {
  origin: GoalOrigin;
  /** The training dialogue the goal was taken from (real goals). */
  sourceDialogueId?: string;
  domains: DomainGoal[];
}

/** Booking slots are not database constraints. */
export function isBookSlot(slot: string): boolean {
  return /-book(day|people|stay|time)$/.test(slot);
}
