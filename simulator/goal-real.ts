/** Goals from real training dialogues: the final state, the requests, an occasional value swap. */
import { isTrackedSlot, slotDomain } from '../multiwoz/slots';
import { type Dialogue, type TrackedDomain } from '../multiwoz/types';
import { GOAL_ORIGIN, isBookSlot, type DomainGoal, type Goal } from './goal-types';
import type { Rng } from './rng';
import {
  DEFAULT_SWAP_PROBABILITY,
  type GoalDeps,
  alternativeValues,
  changeableSlots,
  isTrackedDomain,
  matchCount,
  realRequests,
  sampleRequests,
  shuffled,
} from './goal-values';

/** First acceptable value; for `a|b` alternatives the first one (a user states one value). */
function firstValue(values: readonly string[] | undefined): string | undefined {
  const value = values?.[0]?.split('|')[0]?.trim();
  return value ? value : undefined;
}

/** Tracked slots of the final state with their values, in order of first appearance. */
function finalSlotsInOrder(d: Dialogue): Array<[string, string]> {
  const states = d.turns.flatMap((t) => (t.state ? [t.state] : []));
  const final = states[states.length - 1];
  if (!final) return [];
  const order = new Set(states.flatMap((s) => Object.keys(s)));
  const out: Array<[string, string]> = [];
  for (const slot of order) {
    const value = firstValue(final[slot]);
    if (value !== undefined && isTrackedSlot(slot) && isTrackedDomain(slotDomain(slot)))
      out.push([slot, value]);
  }
  return out;
}

/** Slots grouped per domain; domains in order of their first slot. */
function groupByDomain(slots: Array<[string, string]>): DomainGoal[] {
  const byDomain = new Map<TrackedDomain, DomainGoal>();
  for (const [slot, value] of slots) {
    const domain = slotDomain(slot) as TrackedDomain;
    let goal = byDomain.get(domain);
    if (!goal) byDomain.set(domain, (goal = { domain, constraints: {}, book: {}, requests: [] }));
    (isBookSlot(slot) ? goal.book : goal.constraints)[slot] = value;
  }
  return [...byDomain.values()];
}

/**
 * Swaps one changeable constraint for another valid value, preferring values the database
 * still has matches for so the swap adds diversity rather than impossible goals.
 */
function swapOneValue(goal: DomainGoal, rng: Rng, deps: GoalDeps): void {
  const slots = changeableSlots(goal);
  if (slots.length === 0) return;
  const slot = rng.pick(slots);
  const candidates = shuffled(alternativeValues(slot, goal.constraints, deps), rng);
  const fits = (value: string) =>
    matchCount(deps.db, goal.domain, { ...goal.constraints, [slot]: value }) > 0;
  const value = candidates.find(fits) ?? candidates[0];
  if (value !== undefined) goal.constraints[slot] = value;
}

/**
 * The user goal of a real dialogue (DESIGN.md §3.1): the tracked slots of its final state,
 * grouped per domain in order of first appearance (slots too); book slots go to `book`, all
 * others (including `dontcare`, "I don't mind") to `constraints`. Requests come from the raw
 * goal's `reqt` when the source has goals, else 0–2 are sampled. With `swapProbability`
 * (default 0.1) per domain one constraint (never a name or `dontcare`) gets another valid value.
 *
 * @returns undefined when the final state has no tracked domain.
 */
export function goalFromDialogue(
  d: Dialogue,
  rng: Rng,
  deps: GoalDeps,
  opts: { swapProbability?: number } = {},
): Goal | undefined {
  const domains = groupByDomain(finalSlotsInOrder(d));
  if (domains.length === 0) return undefined;
  const swapProbability = opts.swapProbability ?? DEFAULT_SWAP_PROBABILITY;
  for (const goal of domains) {
    if (rng.next() < swapProbability) swapOneValue(goal, rng, deps);
    goal.requests = realRequests(d.goal, goal.domain) ?? sampleRequests(goal, rng);
  }
  return { origin: GOAL_ORIGIN.REAL, sourceDialogueId: d.id, domains };
}
