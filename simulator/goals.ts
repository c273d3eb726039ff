/**
 * User goals for simulated dialogues (DESIGN.md §3.1): either the final state of a real
 * training dialogue (with an occasional value swap for diversity) or a venue picked from the
 * database plus booking values. `checkGoal` makes sure every goal can be met, turning a goal
 * that cannot into a planned preference change ("no 5-star hotels in the west? then 4 stars").
 *
 * Everything random goes through a seeded `Rng`, so a seed reproduces the same goals.
 */
import type { Ontology } from '../multiwoz/ontology';
import { isTrackedSlot, slotDomain } from '../multiwoz/slots';
import { TRACKED_DOMAINS, type Dialogue, type TrackedDomain } from '../multiwoz/types';
import { isDontcare, normalizeValue, parseTime, type VenueDb, type VenueEntry } from '../multiwoz/venues';
import { GOAL_ORIGIN, isBookSlot, type DomainGoal, type Goal } from './goal-types';
import { createRng, deriveSeed, type Rng } from './rng';

/** The database and value lists goals are built from and checked against. */
export interface GoalDeps {
  db: VenueDb;
  ontology: Ontology;
}

/** Chance per domain that a real goal gets one constraint value swapped (paper: 0.1). */
export const DEFAULT_SWAP_PROBABILITY = 0.1;
/** Chance per satisfiable domain that `checkGoal` plans a preference change (needs an `rng`). */
export const DEFAULT_CHANGE_PROBABILITY = 0.1;
/** Share of real goals when `sampleGoals` mixes sources. */
export const DEFAULT_REAL_SHARE = 0.8;
/** Most domains in a database goal unless `databaseGoal` is told otherwise. */
export const DEFAULT_MAX_DOMAINS = 3;
/** Share of database venue goals where the user names the venue instead of describing it. */
export const NAME_ONLY_PROBABILITY = 0.3;

export const WEEKDAYS = [
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
] as const;

/**
 * Properties a user may ask about, per domain (the allowed request names). These are the
 * MultiWOZ 2.1 `reqt` names, lower case; taxi adds `car type`, which every MultiWOZ taxi goal
 * asks for and the system's synthetic car has.
 */
export const REQUESTABLE: Readonly<Record<TrackedDomain, readonly string[]>> = {
  restaurant: ['address', 'phone', 'postcode', 'pricerange', 'area', 'food'],
  hotel: ['address', 'phone', 'postcode', 'pricerange', 'area', 'type', 'stars', 'internet', 'parking'],
  attraction: ['address', 'phone', 'postcode', 'area', 'type', 'entrance fee'],
  train: ['trainid', 'duration', 'price', 'leaveat', 'arriveby'],
  taxi: ['car type', 'phone'],
};

// What sampled requests draw from: the properties real users ask about most
// (MultiWOZ 2.1 dev `reqt` counts), before the domain's own attributes.
const DEFAULT_REQUESTS: Readonly<Record<TrackedDomain, readonly string[]>> = {
  restaurant: ['address', 'phone', 'postcode', 'area', 'food', 'pricerange'],
  hotel: ['address', 'phone', 'postcode', 'parking', 'stars', 'internet'],
  attraction: ['address', 'phone', 'postcode', 'entrance fee', 'area', 'type'],
  train: ['trainid', 'duration', 'price', 'leaveat', 'arriveby'],
  taxi: ['car type', 'phone'],
};

// Spellings seen in MultiWOZ goal files (2.0 abbreviations, 2.1 camel case) → request names.
// `price` means the price range for venues and the ticket price for trains (see `requestName`).
const REQUEST_ALIASES: Readonly<Record<string, string>> = {
  addr: 'address',
  post: 'postcode',
  'price range': 'pricerange',
  fee: 'entrance fee',
  entrancefee: 'entrance fee',
  id: 'trainid',
  time: 'duration',
  car: 'car type',
  cartype: 'car type',
  wifi: 'internet',
};

// DB and schema spellings → the MultiWOZ 2.1 label spelling the real goals use, so swapped,
// relaxed and database values read like the rest of the training data.
const LABEL_SPELLING: Readonly<Record<string, string>> = {
  guesthouse: 'guest house',
  swimmingpool: 'swimming pool',
  concerthall: 'concert hall',
};

// Share of user goals with 1, 2, 3 domains in the STAR train final states (2,742 / 4,039 /
// 1,106 dialogues); 4 and 5 never occur there and get a small weight when asked for.
const DOMAIN_COUNT_WEIGHTS = [0.35, 0.5, 0.15, 0.05, 0.05];

// Share of domain goals that book, from the STAR train final states (hotel 2,104 / 3,332,
// restaurant 2,083 / 3,778, train 1,637 / 2,934); attractions and taxis have no booking slots.
const BOOK_PROBABILITY: Readonly<Record<TrackedDomain, number>> = {
  hotel: 0.63,
  restaurant: 0.55,
  train: 0.56,
  attraction: 0,
  taxi: 0,
};

const VENUE_DOMAINS = ['attraction', 'hotel', 'restaurant'] as const;
// Slots whose values are venue names: never swapped or relaxed (a different venue is a
// different goal, not a different preference).
const NAME_SLOT = /-name$|^taxi-(departure|destination)$/;
const TIME_SLOT = /-(leaveat|arriveby|booktime)$/;
const DAY_SLOT = /-(day|bookday)$/;
const OTHER_END: Readonly<Record<string, string>> = {
  'train-departure': 'train-destination',
  'train-destination': 'train-departure',
};
const QUARTER = 15;
const DAY_MINUTES = 24 * 60;
// Tries per goal index before `sampleGoals` gives up (real goals are satisfiable ~all the time).
const MAX_ATTEMPTS = 1000;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTrackedDomain(domain: string): domain is TrackedDomain {
  return (TRACKED_DOMAINS as readonly string[]).includes(domain);
}

/** A shuffled copy (Fisher–Yates). */
function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Index drawn with the given (unnormalised) weights. */
function weightedIndex(weights: readonly number[], rng: Rng): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i] ?? 0;
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/** `HH:MM` for minutes after midnight. */
function clock(minutes: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** A quarter-hour time in [from, to] (minutes after midnight). */
function quarterHour(rng: Rng, from: number, to: number): string {
  return clock(from + QUARTER * rng.int(Math.floor((to - from) / QUARTER) + 1));
}

/** `HH:MM` on the quarter hour, before midnight. */
function isQuarterHour(value: string): boolean {
  const minutes = parseTime(value);
  return (
    /^\d\d:\d\d$/.test(value) && minutes !== undefined && minutes % QUARTER === 0 && minutes < DAY_MINUTES
  );
}

function labelSpelling(slot: string, value: string): string {
  if (/-(parking|internet)$/.test(slot) && value === 'free') return 'yes';
  return LABEL_SPELLING[value] ?? value;
}

/** Slot name without its domain: `hotel-pricerange` → `pricerange`. */
function slotField(slot: string): string {
  return slot.slice(slot.indexOf('-') + 1);
}

/** Number of database matches; taxis always find a car. */
function matchCount(db: VenueDb, domain: TrackedDomain, constraints: Record<string, string>): number {
  return domain === 'taxi' ? 1 : db.query(domain, constraints).length;
}

function cloneDomain(d: DomainGoal): DomainGoal {
  return {
    domain: d.domain,
    constraints: { ...d.constraints },
    book: { ...d.book },
    requests: [...d.requests],
    ...(d.change ? { change: { ...d.change } } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Alternative values of a slot (swaps, planned changes)
// ---------------------------------------------------------------------------------------------

/** Every value the slot's domain table holds for it (label spelling, sorted). */
function databaseValues(db: VenueDb, slot: string): string[] {
  const domain = slotDomain(slot);
  if (!isTrackedDomain(domain)) return [];
  const values = new Set<string>();
  for (const entry of db.entries(domain)) {
    const value = db.entityAttributes(domain, entry)[slot];
    if (value !== undefined) values.add(labelSpelling(slot, value));
  }
  return [...values].sort();
}

/**
 * Valid values a slot can take instead of its current one: weekdays for days, quarter-hour
 * clock times the ontology knows for times (what people say), the schema's possible values for
 * categorical slots, and database values otherwise (`restaurant-food`: the ontology also holds
 * annotator noise such as `corsica`). Sorted so a seeded shuffle is reproducible.
 */
function valuePool(slot: string, deps: GoalDeps): string[] {
  if (DAY_SLOT.test(slot)) return [...WEEKDAYS];
  if (TIME_SLOT.test(slot)) return [...deps.ontology.values(slot)].filter(isQuarterHour).sort();
  if (deps.ontology.isCategorical(slot))
    return deps.ontology.possibleValues(slot).map((v) => labelSpelling(slot, v));
  return databaseValues(deps.db, slot);
}

/**
 * Values other than `current` (under `normalizeValue`), never `dontcare`, and for train
 * stations never the other end of the trip (Cambridge → Cambridge is no journey).
 */
function alternativeValues(slot: string, constraints: Record<string, string>, deps: GoalDeps): string[] {
  const taken = new Set([normalizeValue(slot, constraints[slot] ?? ''), 'dontcare']);
  const otherEnd = OTHER_END[slot];
  const other = otherEnd ? constraints[otherEnd] : undefined;
  if (other !== undefined) taken.add(normalizeValue(slot, other));
  const out: string[] = [];
  for (const value of valuePool(slot, deps)) {
    const key = normalizeValue(slot, value);
    if (taken.has(key)) continue;
    taken.add(key);
    out.push(value);
  }
  return out;
}

/** Constraint slots a swap or a planned change may touch: not names, not `dontcare`. */
function changeableSlots(goal: DomainGoal): string[] {
  return Object.entries(goal.constraints)
    .filter(([slot, value]) => !NAME_SLOT.test(slot) && !isDontcare(value))
    .map(([slot]) => slot);
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** Request name for a goal-file `reqt` entry, or undefined when not allowed for the domain. */
function requestName(domain: TrackedDomain, raw: string): string | undefined {
  const spaced = raw.trim().toLowerCase().replace(/\s+/g, ' ');
  let name = REQUEST_ALIASES[spaced] ?? spaced;
  if (name === 'price' && domain !== 'train') name = 'pricerange';
  if (name === 'type' && domain === 'taxi') name = 'car type';
  // `leaveAt`, `trainID` are joined words; `entrance fee`, `car type` keep their space.
  const allowed = REQUESTABLE[domain];
  if (allowed.includes(name)) return name;
  const joined = name.replace(/ /g, '');
  return allowed.includes(joined) ? joined : undefined;
}

/**
 * Requests of the real goal: its `reqt` list mapped to allowed names (`ref` is dropped, the
 * reference comes with a booking). [] when the goal has the domain without `reqt` (that user
 * asked for nothing); undefined when the dialogue has no goal for the domain.
 */
function realRequests(goal: unknown, domain: TrackedDomain): string[] | undefined {
  const entry = isRecord(goal) ? goal[domain] : undefined;
  if (!isRecord(entry) || Object.keys(entry).length === 0) return undefined;
  if (!Array.isArray(entry.reqt)) return [];
  const names = entry.reqt.flatMap((r) => (typeof r === 'string' ? [requestName(domain, r)] : []));
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/** 0–2 common properties, never one the user already constrained (no "which area?" after "in the north"). */
function sampleRequests(goal: DomainGoal, rng: Rng): string[] {
  const constrained = new Set(Object.keys(goal.constraints).map(slotField));
  const pool = DEFAULT_REQUESTS[goal.domain].filter((r) => !constrained.has(r));
  return shuffled(pool, rng).slice(0, rng.int(3));
}

// ---------------------------------------------------------------------------------------------
// Real goals
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Database goals
// ---------------------------------------------------------------------------------------------

/** Day and party size shared by every booking of one goal (one group travelling together). */
interface Party {
  day: string;
  people: string;
}

/** A venue or train the goal refers to, so a taxi can drive between them. */
interface Place {
  name: string;
  /** Restaurant booking time: a taxi there should arrive by then. */
  arriveBy?: string;
}

/** 1…max distinct domains, count weighted like real goals; taxi last (it links the others). */
function pickDomains(rng: Rng, max: number): TrackedDomain[] {
  const limit = Math.max(1, Math.min(TRACKED_DOMAINS.length, Math.floor(max)));
  const count = 1 + weightedIndex(DOMAIN_COUNT_WEIGHTS.slice(0, limit), rng);
  const chosen = shuffled(TRACKED_DOMAINS, rng).slice(0, count);
  return [...chosen.filter((d) => d !== 'taxi'), ...chosen.filter((d) => d === 'taxi')];
}

/** Name only (≈30%), else 1–4 of the venue's attributes in random order. */
function venueConstraints(
  domain: TrackedDomain,
  attrs: Record<string, string>,
  rng: Rng,
): Record<string, string> {
  const name = attrs[`${domain}-name`];
  if (name !== undefined && rng.next() < NAME_ONLY_PROBABILITY) return { [`${domain}-name`]: name };
  const others = Object.entries(attrs).filter(([slot]) => !slot.endsWith('-name'));
  const picked = shuffled(others, rng).slice(0, 1 + rng.int(Math.min(4, others.length)));
  return Object.fromEntries(picked.map(([slot, value]) => [slot, labelSpelling(slot, value)]));
}

/**
 * Route, day and one time of a real trip. Times are rounded to the quarter hour the way users
 * say them, outward so the trip still matches: leave after ⌊departure⌋, arrive by ⌈arrival⌉.
 */
function trainConstraints(attrs: Record<string, string>, rng: Rng): Record<string, string> {
  const out: Record<string, string> = {};
  for (const slot of ['train-departure', 'train-destination', 'train-day']) out[slot] = attrs[slot] ?? '';
  const leave = parseTime(attrs['train-leaveat'] ?? '') ?? 0;
  const arrive = parseTime(attrs['train-arriveby'] ?? '');
  const arriveBy = arrive === undefined ? undefined : Math.ceil(arrive / QUARTER) * QUARTER;
  // Arrivals after midnight (`24:08` in the table) cannot be said as an arrive-by time.
  if (rng.next() < 0.5 && arriveBy !== undefined && arriveBy < DAY_MINUTES)
    out['train-arriveby'] = clock(arriveBy);
  else out['train-leaveat'] = clock(Math.floor(leave / QUARTER) * QUARTER);
  return out;
}

function bookingValues(domain: TrackedDomain, rng: Rng, party: Party): Record<string, string> {
  if (domain === 'train') return { 'train-bookpeople': party.people };
  const book: Record<string, string> = {
    [`${domain}-bookday`]: party.day,
    [`${domain}-bookpeople`]: party.people,
  };
  if (domain === 'hotel') book['hotel-bookstay'] = String(1 + rng.int(5));
  if (domain === 'restaurant') book['restaurant-booktime'] = quarterHour(rng, 11 * 60, 21 * 60);
  return book;
}

/** A goal for one venue or train entity drawn from the database. */
function entityGoal(domain: TrackedDomain, rng: Rng, db: VenueDb, party: Party, places: Place[]): DomainGoal {
  const attrs = db.entityAttributes(domain, db.randomEntity(domain, rng));
  const constraints =
    domain === 'train' ? trainConstraints(attrs, rng) : venueConstraints(domain, attrs, rng);
  const book = rng.next() < BOOK_PROBABILITY[domain] ? bookingValues(domain, rng, party) : {};
  const goal: DomainGoal = { domain, constraints, book, requests: [] };
  goal.requests = sampleRequests(goal, rng);
  const name = attrs[`${domain}-name`];
  if (name !== undefined) places.push({ name, arriveBy: book['restaurant-booktime'] });
  return goal;
}

function randomPlace(rng: Rng, db: VenueDb, avoid: string): Place {
  for (;;) {
    const domain = rng.pick(VENUE_DOMAINS);
    const name = db.entityAttributes(domain, db.randomEntity(domain, rng))[`${domain}-name`];
    if (name !== undefined && name !== avoid) return { name };
  }
}

/** Two ends from the goal's own venues, topped up with random venues. */
function taxiEnds(rng: Rng, db: VenueDb, places: readonly Place[]): [Place, Place] {
  const ends = shuffled(places, rng).slice(0, 2);
  while (ends.length < 2) ends.push(randomPlace(rng, db, ends[0]?.name ?? ''));
  const [a, b] = shuffled(ends, rng) as [Place, Place];
  return [a, b];
}

/** Taxi between two places, leaving or arriving at a time (arriving by a restaurant booking). */
function taxiGoal(rng: Rng, db: VenueDb, places: readonly Place[]): DomainGoal {
  const [from, to] = taxiEnds(rng, db, places);
  const constraints: Record<string, string> = { 'taxi-departure': from.name, 'taxi-destination': to.name };
  if (to.arriveBy !== undefined) constraints['taxi-arriveby'] = to.arriveBy;
  else if (rng.next() < 0.5) constraints['taxi-leaveat'] = quarterHour(rng, 6 * 60, 23 * 60 + 45);
  else constraints['taxi-arriveby'] = quarterHour(rng, 6 * 60, 23 * 60 + 45);
  const goal: DomainGoal = { domain: 'taxi', constraints, book: {}, requests: [] };
  goal.requests = sampleRequests(goal, rng);
  return goal;
}

/**
 * A goal sampled from the database (DESIGN.md §3.1): 1 to `opts.domains` (default 3) distinct
 * domains, weighted like real goals (1: 35%, 2: 50%, 3: 15%). Per venue domain a random entity
 * gives either its name (30%) or 1–4 of its attributes; a train gives departure, destination,
 * day and leave-after or arrive-by; a taxi drives between the goal's venues (or random ones).
 * Bookings (hotel 63%, restaurant 55%, train 56%, as in real goals) share one day (monday–sunday)
 * and party size (1–8); hotel stays are 1–5 nights, restaurant times 11:00–21:00 on the quarter
 * hour. Requests: 0–2 sampled. Every domain matches at least the entity it came from.
 */
export function databaseGoal(rng: Rng, deps: GoalDeps, opts: { domains?: number } = {}): Goal {
  const domains = pickDomains(rng, opts.domains ?? DEFAULT_MAX_DOMAINS);
  const party: Party = { day: rng.pick(WEEKDAYS), people: String(1 + rng.int(8)) };
  const places: Place[] = [];
  const goals = domains.map((domain) =>
    domain === 'taxi' ? taxiGoal(rng, deps.db, places) : entityGoal(domain, rng, deps.db, party, places),
  );
  return { origin: GOAL_ORIGIN.DATABASE, domains: goals };
}

// ---------------------------------------------------------------------------------------------
// Satisfiability
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Sampling many goals
// ---------------------------------------------------------------------------------------------

export type GoalSource = 'real' | 'database' | 'mixed';

/** Options of `sampleGoals`. */
export interface SampleGoalsOptions {
  count: number;
  seed: number;
  /** Index of the first goal (goals `from … from+count-1`); goal i never depends on it. Default 0. */
  from?: number;
  /** Default `'mixed'`: real goals with probability `realShare`, database goals otherwise. */
  source?: GoalSource;
  /** Training dialogues real goals come from; required unless `source` is `'database'`. */
  trainDialogues?: readonly Dialogue[];
  deps: GoalDeps;
  /** Share of real goals in `'mixed'`; default 0.8. */
  realShare?: number;
  /** See `goalFromDialogue`; default 0.1. */
  swapProbability?: number;
  /** See `checkGoal`; default 0.1. */
  changeProbability?: number;
  /** See `databaseGoal`; default 3. */
  maxDomains?: number;
}

export interface SampledGoal {
  index: number;
  goal: Goal;
}

interface SamplingContext {
  opts: SampleGoalsOptions;
  dialogues: readonly Dialogue[];
  /** Seeded order of the dialogues: goal i starts at order[i], so goals rarely repeat. */
  order: number[];
}

/** Candidate goal for one attempt; undefined when the dialogue has no tracked domain. */
function candidate(ctx: SamplingContext, index: number, attempt: number, real: boolean, rng: Rng) {
  const { deps, swapProbability, maxDomains } = ctx.opts;
  if (!real) return databaseGoal(rng, deps, { domains: maxDomains });
  const n = ctx.dialogues.length;
  const position = attempt === 0 ? (ctx.order[index % n] ?? 0) : rng.int(n);
  const dialogue = ctx.dialogues[position];
  return dialogue && goalFromDialogue(dialogue, rng, deps, { swapProbability });
}

function sampleOne(ctx: SamplingContext, index: number): Goal {
  const { opts } = ctx;
  const rng = createRng(deriveSeed(opts.seed, index));
  const source = opts.source ?? 'mixed';
  const real =
    source === 'real' || (source === 'mixed' && rng.next() < (opts.realShare ?? DEFAULT_REAL_SHARE));
  const checkOpts = { rng, ontology: opts.deps.ontology, changeProbability: opts.changeProbability };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const goal = candidate(ctx, index, attempt, real, rng);
    if (!goal) continue;
    const checked = checkGoal(goal, opts.deps.db, checkOpts);
    if (checked.satisfiable) return checked.goal;
  }
  throw new Error(`no satisfiable goal for index ${index} after ${MAX_ATTEMPTS} attempts`);
}

/**
 * `count` checked, satisfiable goals, deterministic for `seed`. Goal i uses its own generator
 * (`deriveSeed(seed, i)`), so it is the same whatever `count` is. Real goals start from a
 * seeded permutation of the training dialogues (goal i takes dialogue order[i mod n], so
 * dialogues repeat only past n goals); a dialogue without a tracked domain or with an
 * unsatisfiable goal is replaced by random draws from the same generator.
 *
 * @throws when real goals are needed and `trainDialogues` is empty or missing.
 */
export function sampleGoals(opts: SampleGoalsOptions): SampledGoal[] {
  const source = opts.source ?? 'mixed';
  const dialogues = opts.trainDialogues ?? [];
  if (source !== 'database' && dialogues.length === 0)
    throw new Error(`sampleGoals: source "${source}" needs trainDialogues (or use source "database")`);
  const order = shuffled(
    dialogues.map((_, i) => i),
    createRng(deriveSeed(opts.seed, 'dialogue-order')),
  );
  const ctx: SamplingContext = { opts, dialogues, order };
  const from = Math.max(0, Math.floor(opts.from ?? 0));
  return Array.from({ length: Math.max(0, Math.floor(opts.count)) }, (_, i) => ({
    index: from + i,
    goal: sampleOne(ctx, from + i),
  }));
}
