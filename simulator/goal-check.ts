/**
 * Satisfiability (`checkGoal`): every goal can be met; a domain with no match gets a planned
 * preference change ("no 5-star hotels in the west? then 4 stars").
 */
import type { Ontology } from '../multiwoz/ontology';
import { parseTime, type VenueDb, type VenueEntry } from '../multiwoz/venues';
import { type DomainGoal, type Goal } from './goal-types';
import type { Rng } from './rng';
import {
  DAY_MINUTES,
  DEFAULT_CHANGE_PROBABILITY,
  QUARTER,
  TIME_SLOT,
  alternativeValues,
  changeableSlots,
  clock,
  cloneDomain,
  labelSpelling,
  matchCount,
  shuffled,
} from './goal-values';

/** Options of `checkGoal`. */
export interface CheckGoalOptions {
  /** Draws for deliberate preference changes; without it `checkGoal` never injects one. */
  rng?: Rng;
  /** Value lists to pick the impossible `from` value in; needed for injection too. */
  ontology?: Ontology;
  /** Chance per satisfiable domain of a deliberate change; default 0.1. */
  changeProbability?: number;
}

/** A checked goal; `goal` is a copy, possibly with planned changes. */
export interface CheckedGoal {
  goal: Goal;
  satisfiable: boolean;
}

/**
 * Best value to relax a train time to, given the trips that match the other constraints:
 * leave after the latest departure (rounded down), or arrive by the earliest arrival (rounded
 * up), i.e. the smallest change that finds a train.
 */
function relaxedTime(slot: string, db: VenueDb, matches: readonly VenueEntry[]): string | undefined {
  const times = matches
    .map((e) => parseTime(db.entityAttributes('train', e)[slot] ?? ''))
    .filter((t): t is number => t !== undefined);
  if (times.length === 0) return undefined;
  if (slot === 'train-leaveat') return clock(Math.floor(Math.max(...times) / QUARTER) * QUARTER);
  const arrive = Math.ceil(Math.min(...times) / QUARTER) * QUARTER;
  return arrive < DAY_MINUTES ? clock(arrive) : undefined;
}

/** Most common value of `slot` among the matches (first seen wins ties). */
function commonValue(
  goal: DomainGoal,
  slot: string,
  db: VenueDb,
  matches: readonly VenueEntry[],
): string | undefined {
  const counts = new Map<string, number>();
  for (const entry of matches) {
    const value = db.entityAttributes(goal.domain, entry)[slot];
    if (value !== undefined) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  let best: [string, number] | undefined;
  for (const pair of counts) if (!best || pair[1] > best[1]) best = pair;
  return best && labelSpelling(slot, best[0]);
}

/** The value `slot` could be relaxed to and how many matches it gives; undefined when none. */
function relaxation(
  goal: DomainGoal,
  slot: string,
  db: VenueDb,
): { to: string; matches: number } | undefined {
  const others = { ...goal.constraints };
  delete others[slot];
  const matches = db.query(goal.domain, others);
  if (matches.length === 0) return undefined;
  const to = TIME_SLOT.test(slot) ? relaxedTime(slot, db, matches) : commonValue(goal, slot, db, matches);
  if (to === undefined) return undefined;
  const count = matchCount(db, goal.domain, { ...goal.constraints, [slot]: to });
  return count > 0 ? { to, matches: count } : undefined;
}

/**
 * Turns an unmatched domain into a planned change of one slot: the relaxation with the most
 * matches wins; ties go to the slot revealed last (the user gives up the afterthought first).
 */
function planRelaxation(goal: DomainGoal, db: VenueDb): DomainGoal | undefined {
  if (goal.change) return undefined; // one planned change per domain; a second would be a new goal
  let best: { slot: string; to: string; matches: number } | undefined;
  for (const slot of changeableSlots(goal).reverse()) {
    const r = relaxation(goal, slot, db);
    if (r && (!best || r.matches > best.matches)) best = { slot, ...r };
  }
  if (!best) return undefined;
  const from = goal.constraints[best.slot] ?? '';
  goal.change = { slot: best.slot, from, to: best.to };
  goal.constraints[best.slot] = best.to;
  return goal;
}

/** Plans a change whose `from` value has no match (the final value stays), when one exists. */
function injectChange(goal: DomainGoal, db: VenueDb, ontology: Ontology, rng: Rng): void {
  for (const slot of shuffled(changeableSlots(goal), rng)) {
    const candidates = shuffled(alternativeValues(slot, goal.constraints, { db, ontology }), rng);
    const from = candidates.find(
      (v) => matchCount(db, goal.domain, { ...goal.constraints, [slot]: v }) === 0,
    );
    if (from === undefined) continue;
    goal.change = { slot, from, to: goal.constraints[slot] ?? '' };
    return;
  }
}

function checkDomain(original: DomainGoal, db: VenueDb, opts: CheckGoalOptions): DomainGoal | undefined {
  const goal = cloneDomain(original);
  if (goal.domain === 'taxi') return goal;
  if (matchCount(db, goal.domain, goal.constraints) === 0) return planRelaxation(goal, db);
  const { rng, ontology } = opts;
  const probability = opts.changeProbability ?? DEFAULT_CHANGE_PROBABILITY;
  if (rng && ontology && !goal.change && rng.next() < probability) injectChange(goal, db, ontology, rng);
  return goal;
}

/**
 * Checks that every domain's constraints (final values) match at least one database entry;
 * taxis always match. A domain without matches becomes a planned preference change when
 * relaxing one slot (not a name, not `dontcare`) finds matches: `change = {slot, from: the
 * value asked first, to: the relaxed value}` and `constraints[slot] = to`. Otherwise the goal
 * is unsatisfiable (also when the domain already had a change).
 *
 * With `opts.rng` and `opts.ontology`, a satisfiable domain gets a deliberate change with
 * `opts.changeProbability` (default 0.1) when some other value of one of its slots has zero
 * matches: the user asks for that first and settles on the goal value.
 *
 * The input goal is not modified.
 */
export function checkGoal(goal: Goal, db: VenueDb, opts: CheckGoalOptions = {}): CheckedGoal {
  const checked = goal.domains.map((d) => checkDomain(d, db, opts));
  const domains = checked.map((d, i) => d ?? cloneDomain(goal.domains[i] as DomainGoal));
  return { goal: { ...goal, domains }, satisfiable: checked.every((d) => d !== undefined) };
}
