/** Goals drawn from the venue database: one entity per domain, booking values, taxis between them. */
import { TRACKED_DOMAINS, type TrackedDomain } from '../multiwoz/types';
import { parseTime, type VenueDb } from '../multiwoz/venues';
import { GOAL_ORIGIN, type DomainGoal, type Goal } from './goal-types';
import type { Rng } from './rng';
import {
  BOOK_PROBABILITY,
  DAY_MINUTES,
  DEFAULT_MAX_DOMAINS,
  DOMAIN_COUNT_WEIGHTS,
  type GoalDeps,
  NAME_ONLY_PROBABILITY,
  QUARTER,
  VENUE_DOMAINS,
  WEEKDAYS,
  clock,
  labelSpelling,
  quarterHour,
  sampleRequests,
  shuffled,
  weightedIndex,
} from './goal-values';

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
