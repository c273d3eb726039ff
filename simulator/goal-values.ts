/**
 * What goals are made of (DESIGN.md §3.1), shared by the goal modules: the value lists and
 * spellings of MultiWOZ goals, the requestable properties, small seeded helpers, and the
 * alternative values a swap or a planned change may take.
 */
import type { Ontology } from '../multiwoz/ontology';
import { slotDomain } from '../multiwoz/slots';
import { TRACKED_DOMAINS, type TrackedDomain } from '../multiwoz/types';
import { isDontcare, normalizeValue, parseTime, type VenueDb } from '../multiwoz/venues';
import type { DomainGoal } from './goal-types';
import type { Rng } from './rng';

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
export const DOMAIN_COUNT_WEIGHTS = [0.35, 0.5, 0.15, 0.05, 0.05];

// Share of domain goals that book, from the STAR train final states (hotel 2,104 / 3,332,
// restaurant 2,083 / 3,778, train 1,637 / 2,934); attractions and taxis have no booking slots.
export const BOOK_PROBABILITY: Readonly<Record<TrackedDomain, number>> = {
  hotel: 0.63,
  restaurant: 0.55,
  train: 0.56,
  attraction: 0,
  taxi: 0,
};

export const VENUE_DOMAINS = ['attraction', 'hotel', 'restaurant'] as const;
// Slots whose values are venue names: never swapped or relaxed (a different venue is a
// different goal, not a different preference).
const NAME_SLOT = /-name$|^taxi-(departure|destination)$/;
export const TIME_SLOT = /-(leaveat|arriveby|booktime)$/;
const DAY_SLOT = /-(day|bookday)$/;
const OTHER_END: Readonly<Record<string, string>> = {
  'train-departure': 'train-destination',
  'train-destination': 'train-departure',
};
export const QUARTER = 15;
export const DAY_MINUTES = 24 * 60;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isTrackedDomain(domain: string): domain is TrackedDomain {
  return (TRACKED_DOMAINS as readonly string[]).includes(domain);
}

/** A shuffled copy (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Index drawn with the given (unnormalised) weights. */
export function weightedIndex(weights: readonly number[], rng: Rng): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i] ?? 0;
    if (r < 0) return i;
  }
  return weights.length - 1;
}

/** `HH:MM` for minutes after midnight. */
export function clock(minutes: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** A quarter-hour time in [from, to] (minutes after midnight). */
export function quarterHour(rng: Rng, from: number, to: number): string {
  return clock(from + QUARTER * rng.int(Math.floor((to - from) / QUARTER) + 1));
}

/** `HH:MM` on the quarter hour, before midnight. */
function isQuarterHour(value: string): boolean {
  const minutes = parseTime(value);
  return (
    /^\d\d:\d\d$/.test(value) && minutes !== undefined && minutes % QUARTER === 0 && minutes < DAY_MINUTES
  );
}

export function labelSpelling(slot: string, value: string): string {
  if (/-(parking|internet)$/.test(slot) && value === 'free') return 'yes';
  return LABEL_SPELLING[value] ?? value;
}

/** Slot name without its domain: `hotel-pricerange` → `pricerange`. */
function slotField(slot: string): string {
  return slot.slice(slot.indexOf('-') + 1);
}

/** Number of database matches; taxis always find a car. */
export function matchCount(db: VenueDb, domain: TrackedDomain, constraints: Record<string, string>): number {
  return domain === 'taxi' ? 1 : db.query(domain, constraints).length;
}

export function cloneDomain(d: DomainGoal): DomainGoal {
  return {
    domain: d.domain,
    constraints: { ...d.constraints },
    book: { ...d.book },
    requests: [...d.requests],
    ...(d.change ? { change: { ...d.change } } : {}),
  };
}

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
export function alternativeValues(
  slot: string,
  constraints: Record<string, string>,
  deps: GoalDeps,
): string[] {
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
export function changeableSlots(goal: DomainGoal): string[] {
  return Object.entries(goal.constraints)
    .filter(([slot, value]) => !NAME_SLOT.test(slot) && !isDontcare(value))
    .map(([slot]) => slot);
}

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
export function realRequests(goal: unknown, domain: TrackedDomain): string[] | undefined {
  const entry = isRecord(goal) ? goal[domain] : undefined;
  if (!isRecord(entry) || Object.keys(entry).length === 0) return undefined;
  if (!Array.isArray(entry.reqt)) return [];
  const names = entry.reqt.flatMap((r) => (typeof r === 'string' ? [requestName(domain, r)] : []));
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/** 0–2 common properties, never one the user already constrained (no "which area?" after "in the north"). */
export function sampleRequests(goal: DomainGoal, rng: Rng): string[] {
  const constrained = new Set(Object.keys(goal.constraints).map(slotField));
  const pool = DEFAULT_REQUESTS[goal.domain].filter((r) => !constrained.has(r));
  return shuffled(pool, rng).slice(0, rng.int(3));
}
