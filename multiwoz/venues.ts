/**
 * The MultiWOZ venue and train databases (`db/{attraction,hotel,restaurant,train,taxi}_db.json`)
 * with the lookups the simulated system agent and the label checks need (DESIGN.md §3.4, §3.6):
 * constraint queries with MultiWOZ semantics, fuzzy entity-name matching, random entities and
 * booking references.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DataFormatError, isAbsentValue, parseJson } from './loaders/common';
import { multiwozDir } from './paths';
import { canonicalSlot, slotDomain } from './slots';

/** Domains with a database (taxi has only car colours and types, see `VenueDb.query`). */
export const VENUE_DOMAINS = ['attraction', 'hotel', 'restaurant', 'train', 'taxi'] as const;
export type VenueDomain = (typeof VENUE_DOMAINS)[number];

/**
 * One database record, typed loosely: venues carry `name` and `id`, trains `trainID`,
 * `leaveAt`, `arriveBy`, …; every other field of the JSON file is kept as is. Records are frozen
 * because they are shared by every caller of a cached database.
 */
export interface VenueEntry {
  readonly name?: string;
  readonly id?: string | number;
  readonly trainID?: string;
  readonly [field: string]: unknown;
}

/** A uniform source in [0, 1): a bare function or an object with `next()` (see `simulator/rng.ts`). */
export type RandomSource = (() => number) | { next(): number };

/**
 * Informable slot → database field, per domain. These are the slots `query` accepts as
 * constraints and `entityAttributes` reports.
 */
const SLOT_FIELDS: Record<VenueDomain, Readonly<Record<string, string>>> = {
  attraction: { 'attraction-area': 'area', 'attraction-name': 'name', 'attraction-type': 'type' },
  hotel: {
    'hotel-area': 'area',
    'hotel-internet': 'internet',
    'hotel-name': 'name',
    'hotel-parking': 'parking',
    'hotel-pricerange': 'pricerange',
    'hotel-stars': 'stars',
    'hotel-type': 'type',
  },
  restaurant: {
    'restaurant-area': 'area',
    'restaurant-food': 'food',
    'restaurant-name': 'name',
    'restaurant-pricerange': 'pricerange',
  },
  train: {
    'train-arriveby': 'arriveBy',
    'train-day': 'day',
    'train-departure': 'departure',
    'train-destination': 'destination',
    'train-leaveat': 'leaveAt',
  },
  taxi: {
    'taxi-arriveby': 'arriveBy',
    'taxi-departure': 'departure',
    'taxi-destination': 'destination',
    'taxi-leaveat': 'leaveAt',
  },
};

/** Canonical informable slots of a domain (the constraint keys `query` accepts). */
export function informableSlots(domain: VenueDomain): string[] {
  return Object.keys(SLOT_FIELDS[assertDomain(domain)]);
}

// ---------------------------------------------------------------------------------------------
// Value normalisation (comparison keys, never shown to anyone)
// ---------------------------------------------------------------------------------------------

const DONTCARE = new Set(['dontcare', 'dont care', "don't care", 'do not care', 'any']);

// Surface variants seen in MultiWOZ labels and the DB itself (`mutliple sports`, `swimmingpool`,
// `concerthall` are DB spellings), all mapped to one key so either side may use either form.
const VALUE_SYNONYMS = new Map<string, string>([
  ['center', 'centre'],
  ['city centre', 'centre'],
  ['city center', 'centre'],
  ['town centre', 'centre'],
  ['town center', 'centre'],
  ['central', 'centre'],
  ['guesthouse', 'guest house'],
  ['swimmingpool', 'swimming pool'],
  ['concerthall', 'concert hall'],
  ['night club', 'nightclub'],
  ['mutliple sports', 'multiple sports'],
  ['musuem', 'museum'],
  ['moderately priced', 'moderate'],
]);

const NUMBER_WORDS = new Map([
  ['zero', '0'],
  ['one', '1'],
  ['two', '2'],
  ['three', '3'],
  ['four', '4'],
  ['five', '5'],
]);

const BOOK_SLOT = /-book(day|people|stay|time)$/;
const TIME_FIELDS = new Set(['leaveat', 'arriveby', 'booktime']);
// Slots whose values are venue names and compare with the name key (apostrophes, `the`, `&`).
const NAME_SLOT = /-name$|^taxi-(departure|destination)$/;

/** Lower case, curly quotes straightened, whitespace collapsed. */
function basicKey(value: string): string {
  return value
    .replace(/[\u2018\u2019\u02bc`\u00b4]/g, "'")
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** True for `dontcare` and its spellings (`dont care`, `don't care`, `do not care`, `any`). */
export function isDontcare(value: string): boolean {
  return DONTCARE.has(basicKey(value));
}

/**
 * Minutes after midnight for `HH:MM`, `H:MM`, `HHMM`, `HH.MM`, `7pm`, `7:30 pm`; undefined when
 * the text is not a clock time. Hours up to 24 are kept (the train table has `24:55` arrivals).
 */
export function parseTime(value: string): number | undefined {
  const m = /^(\d{1,2})(?:[:.h]?(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$/.exec(basicKey(value));
  if (!m?.[1]) return undefined;
  let hours = Number(m[1]);
  const minutes = m[2] ? Number(m[2]) : 0;
  const suffix = m[3]?.[0];
  if (suffix && (hours < 1 || hours > 12)) return undefined;
  if (suffix === 'p' && hours < 12) hours += 12;
  if (suffix === 'a' && hours === 12) hours = 0;
  if (hours > 24 || minutes > 59) return undefined;
  return hours * 60 + minutes;
}

/** `HH:MM` for minutes after midnight. */
function formatTime(minutes: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** `4`, `4 stars`, `four star` → `4`. */
function starsKey(value: string): string {
  const first = value.split(/[\s-]/)[0] ?? value;
  return NUMBER_WORDS.get(first) ?? (/^\d+$/.test(first) ? String(Number(first)) : value);
}

/**
 * Comparison key of an entity name: lower case, accents dropped, apostrophes removed
 * (`rosa's` = `rosas`, `queens'` = `queens`), `&` → `and`, other punctuation → space, leading
 * `the ` dropped, `b and b` → `bed and breakfast`, `guesthouse` → `guest house`.
 */
export function nameKey(name: string): string {
  return basicKey(name)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/'/g, '')
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .replace(/^the /, '')
    .replace(/\bb and b\b/g, 'bed and breakfast')
    .replace(/\bguesthouse\b/g, 'guest house');
}

/**
 * Comparison key of a slot value, for matching labels against the DB and the ontology (not a
 * display form): `dontcare` spellings → `dontcare`; centre/center/city centre → `centre`;
 * guesthouse → `guest house`; attraction-type typos fixed; parking/internet `free` → `yes`;
 * stars as digits; times as `HH:MM`; names via `nameKey`.
 */
export function normalizeValue(slot: string, value: string): string {
  const canonical = canonicalSlot(slot);
  const key = basicKey(value);
  if (DONTCARE.has(key)) return 'dontcare';
  if (NAME_SLOT.test(canonical)) return nameKey(key);
  const field = canonical.slice(canonical.indexOf('-') + 1);
  if (TIME_FIELDS.has(field)) {
    const minutes = parseTime(key);
    return minutes === undefined ? key : formatTime(minutes);
  }
  if (field === 'stars') return starsKey(key);
  if ((field === 'parking' || field === 'internet') && key === 'free') return 'yes';
  return VALUE_SYNONYMS.get(key) ?? key;
}

// ---------------------------------------------------------------------------------------------
// Fuzzy name similarity
// ---------------------------------------------------------------------------------------------

/** Minimum similarity for a fuzzy name match (see `VenueDb.matchEntityName`). */
export const NAME_MATCH_THRESHOLD = 0.85;

// Words that only say what kind of venue it is; "gonville" means "gonville hotel".
const GENERIC_NAME_WORDS = ['bed and breakfast', 'guest house', 'hotel', 'restaurant', 'college'];

/** A name key without generic venue words (`lensfield hotel` → `lensfield`). */
function coreKey(key: string): string {
  let core = ` ${key} `;
  for (const word of GENERIC_NAME_WORDS) core = core.split(` ${word} `).join(' ');
  return core.trim();
}

/** Edit distance (insertions, deletions, substitutions), two-row dynamic programme. */
function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * Similarity of two name keys in [0, 1]: the larger of the normalised Levenshtein similarity
 * (catches typos: `caffee uno`, `churchills college`) and the Dice coefficient of the word sets
 * (catches a dropped or added word: `pizza hut centre`).
 */
export function nameSimilarity(a: string, b: string): number {
  if (!a || !b) return 0;
  const lev = 1 - levenshtein(a, b) / Math.max(a.length, b.length);
  const ta = new Set(a.split(' '));
  const tb = new Set(b.split(' '));
  const shared = [...ta].filter((t) => tb.has(t)).length;
  return Math.max(lev, (2 * shared) / (ta.size + tb.size));
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

// Fields every record of a table must have as strings; anything else is a broken file.
const REQUIRED_FIELDS: Record<Exclude<VenueDomain, 'taxi'>, string[]> = {
  attraction: ['name', 'area', 'type'],
  hotel: ['name', 'area', 'type', 'pricerange', 'stars', 'parking', 'internet'],
  restaurant: ['name', 'area', 'food', 'pricerange'],
  train: ['trainID', 'day', 'departure', 'destination', 'leaveAt', 'arriveBy'],
};

type TableDomain = keyof typeof REQUIRED_FIELDS;

interface TaxiFleet {
  colors: string[];
  types: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `db/` under `dir` when present, else `dir` itself when it holds the tables. */
function resolveDbDir(dir: string): string {
  for (const candidate of [path.join(dir, 'db'), dir])
    if (existsSync(path.join(candidate, 'hotel_db.json'))) return path.resolve(candidate);
  throw new Error(`MultiWOZ venue database not found: neither ${dir}/db/ nor ${dir} holds hotel_db.json`);
}

function readArray(file: string): unknown[] {
  if (!existsSync(file)) throw new Error(`MultiWOZ database file missing: ${file}`);
  const data = parseJson(readFileSync(file, 'utf8'), file);
  if (!Array.isArray(data)) throw new DataFormatError(file, '(root)', 'expected a JSON array');
  return data;
}

function readTable(dbDir: string, domain: TableDomain): VenueEntry[] {
  const file = path.join(dbDir, `${domain}_db.json`);
  return readArray(file).map((raw, i) => {
    if (!isRecord(raw)) throw new DataFormatError(file, `entry ${i}`, 'expected an object');
    for (const field of REQUIRED_FIELDS[domain])
      if (typeof raw[field] !== 'string')
        throw new DataFormatError(file, `entry ${i}`, `${field}: not a string`);
    return Object.freeze({ ...raw }) as VenueEntry;
  });
}

function readTaxiFleet(dbDir: string): TaxiFleet {
  const file = path.join(dbDir, 'taxi_db.json');
  const first = readArray(file)[0];
  const strings = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
  if (!isRecord(first) || !strings(first.taxi_colors) || !strings(first.taxi_types))
    throw new DataFormatError(file, 'entry 0', 'expected taxi_colors and taxi_types string lists');
  return { colors: first.taxi_colors as string[], types: first.taxi_types as string[] };
}

// ---------------------------------------------------------------------------------------------
// The database
// ---------------------------------------------------------------------------------------------

/** A record with its comparison keys computed once. */
interface Row {
  entry: VenueEntry;
  /** normalizeValue(slot, field) per informable slot. */
  keys: Record<string, string>;
  /** Name key and core key (venues); trainID lower-cased (trains). */
  name: string;
  core: string;
  /** Minutes for leaveAt / arriveBy (trains). */
  leave?: number;
  arrive?: number;
}

type Predicate = (row: Row) => boolean;

const REFERENCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function assertDomain(domain: string): VenueDomain {
  if (!(VENUE_DOMAINS as readonly string[]).includes(domain))
    throw new Error(`unknown MultiWOZ domain "${domain}"; expected one of ${VENUE_DOMAINS.join(', ')}`);
  return domain as VenueDomain;
}

function asRandom(rng: RandomSource): () => number {
  return typeof rng === 'function' ? rng : () => rng.next();
}

/** Index in [0, n) from a uniform draw; clamps a (buggy) draw of 1. */
function drawIndex(random: () => number, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

/** 32-bit FNV-1a, to pick a stable synthetic taxi for the same request. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/**
 * Eight characters from A–Z and 0–9, like the references MultiWOZ systems issue (`7GAWK763`).
 * Deterministic for a seeded `rng`.
 */
export function bookingReference(rng: RandomSource): string {
  const random = asRandom(rng);
  let ref = '';
  for (let i = 0; i < 8; i++) ref += REFERENCE_ALPHABET[drawIndex(random, REFERENCE_ALPHABET.length)];
  return ref;
}

/**
 * Read-only view of the MultiWOZ databases. Create with `loadVenueDb`.
 *
 * Taxi has no venue table: MultiWOZ systems always find a car, so `query('taxi', …)` returns
 * one synthetic car `{name: 'black toyota', color, type, phone, departure, destination, leaveAt,
 * arriveBy}` chosen from `taxi_db.json` colours and types by a hash of the constraints (the
 * same request gets the same car), and `randomEntity('taxi', rng)` draws one with `rng`.
 */
export class VenueDb {
  private readonly rows: Record<TableDomain, Row[]>;
  private readonly fleet: TaxiFleet;

  /** @param dir folder holding the `*_db.json` files (already resolved). */
  constructor(readonly dir: string) {
    this.fleet = readTaxiFleet(dir);
    const rows = (domain: TableDomain) => readTable(dir, domain).map((e) => this.toRow(domain, e));
    this.rows = {
      attraction: rows('attraction'),
      hotel: rows('hotel'),
      restaurant: rows('restaurant'),
      train: rows('train'),
    };
  }

  /** All records of a domain, in file order (taxi: none). */
  entries(domain: VenueDomain): readonly VenueEntry[] {
    const d = assertDomain(domain);
    return d === 'taxi' ? [] : this.rows[d].map((r) => r.entry);
  }

  /**
   * Records matching every constraint. Keys are `domain-slot` names in any spelling
   * (`canonicalSlot`); values compare by `normalizeValue`.
   *
   * - book slots (`-bookday`, `-bookpeople`, `-bookstay`, `-booktime`) are ignored;
   * - empty values (`''`, `none`, `not mentioned`) and `dontcare` spellings match everything;
   * - `a|b` (MultiWOZ 2.4 alternatives) matches either;
   * - names match through `matchEntityName`;
   * - train `leaveat` keeps departures at or after the time, `arriveby` arrivals at or before it
   *   (a value that is not a clock time matches nothing);
   * - a slot that is not informable for the domain throws.
   */
  query(domain: VenueDomain, constraints: Readonly<Record<string, string>>): VenueEntry[] {
    const d = assertDomain(domain);
    const checks = Object.entries(constraints).flatMap(([slot, value]) => this.compile(d, slot, value));
    if (d === 'taxi') return [this.taxiFor(constraints)];
    return this.rows[d].filter((row) => checks.every((check) => check(row))).map((r) => r.entry);
  }

  /**
   * Best record for a name, or undefined. Steps, on `nameKey`s: (1) equal keys; (2) equal keys
   * once generic words (hotel, guest house, bed and breakfast, restaurant, college) are removed,
   * when exactly one record has that core; (3) the highest `nameSimilarity` when it is at least
   * `NAME_MATCH_THRESHOLD` (0.85) and no other record ties with it. Trains match their `trainID`
   * exactly (case-insensitive; the first trip with that id); taxi never matches.
   */
  matchEntityName(domain: VenueDomain, name: string): VenueEntry | undefined {
    const d = assertDomain(domain);
    if (d === 'taxi') return undefined;
    const rows = this.rows[d];
    if (d === 'train') return rows.find((r) => r.name === basicKey(name).replace(/\s+/g, ''))?.entry;
    const key = nameKey(name);
    if (!key) return undefined;
    const exact = rows.find((r) => r.name === key);
    if (exact) return exact.entry;
    const core = coreKey(key);
    const sameCore = core ? rows.filter((r) => r.core === core) : [];
    if (sameCore.length === 1) return sameCore[0]?.entry;
    return this.mostSimilar(rows, key);
  }

  /** A uniformly drawn record (`rng` in [0, 1)); taxi: a random synthetic car. */
  randomEntity(domain: VenueDomain, rng: RandomSource): VenueEntry {
    const d = assertDomain(domain);
    const random = asRandom(rng);
    if (d === 'taxi') return this.taxi(random, {});
    const rows = this.rows[d];
    const row = rows[drawIndex(random, rows.length)];
    if (!row) throw new Error(`the ${d} table is empty`);
    return row.entry;
  }

  /** See the module-level `bookingReference`. */
  bookingReference(rng: RandomSource): string {
    return bookingReference(rng);
  }

  /**
   * The informable attributes of a record as `canonical slot → value` (lower case, as stored,
   * except the DB typo `mutliple sports` → the schema's `multiple sports`). Fields that are
   * missing or `?` are left out. Train: day, departure, destination, leaveat, arriveby; taxi:
   * the route fields of a synthetic car.
   */
  entityAttributes(domain: VenueDomain, entry: VenueEntry): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [slot, field] of Object.entries(SLOT_FIELDS[assertDomain(domain)])) {
      const raw = entry[field];
      if (typeof raw !== 'string' && typeof raw !== 'number') continue;
      const value = basicKey(String(raw));
      if (value === '?' || isAbsentValue(value)) continue;
      out[slot] = value === 'mutliple sports' ? 'multiple sports' : value;
    }
    return out;
  }

  private toRow(domain: TableDomain, entry: VenueEntry): Row {
    const keys: Record<string, string> = {};
    for (const [slot, field] of Object.entries(SLOT_FIELDS[domain]))
      keys[slot] = normalizeValue(slot, String(entry[field] ?? ''));
    if (domain === 'train') {
      const id = String(entry.trainID).toLowerCase();
      const leave = parseTime(String(entry.leaveAt));
      const arrive = parseTime(String(entry.arriveBy));
      return { entry, keys, name: id, core: id, leave, arrive };
    }
    const name = nameKey(String(entry.name));
    return { entry, keys, name, core: coreKey(name) };
  }

  /** Predicates for one constraint; none when it constrains nothing. */
  private compile(domain: VenueDomain, slot: string, value: string): Predicate[] {
    const canonical = canonicalSlot(slot);
    if (BOOK_SLOT.test(canonical)) return [];
    if (slotDomain(canonical) !== domain || !(canonical in SLOT_FIELDS[domain]))
      throw new Error(
        `unknown slot "${slot}" for domain ${domain}; expected one of ${informableSlots(domain).join(', ')} (or a book slot)`,
      );
    if (isAbsentValue(value)) return [];
    const alternatives = value.split('|').map((v) => v.trim());
    if (alternatives.some(isDontcare)) return [];
    if (canonical.endsWith('-name')) {
      const matches = new Set(alternatives.map((a) => this.matchEntityName(domain, a)));
      return [(row) => matches.has(row.entry)];
    }
    if (domain === 'train' && (canonical === 'train-leaveat' || canonical === 'train-arriveby'))
      return [timePredicate(canonical, alternatives)];
    const keys = new Set(alternatives.map((a) => normalizeValue(canonical, a)));
    return [(row) => keys.has(row.keys[canonical] ?? '')];
  }

  private mostSimilar(rows: Row[], key: string): VenueEntry | undefined {
    let best: Row | undefined;
    let bestScore = 0;
    let tied = false;
    for (const row of rows) {
      const score = nameSimilarity(key, row.name);
      if (score > bestScore) [best, bestScore, tied] = [row, score, false];
      else if (score === bestScore) tied = true;
    }
    return best && bestScore >= NAME_MATCH_THRESHOLD && !tied ? best.entry : undefined;
  }

  private taxiFor(constraints: Readonly<Record<string, string>>): VenueEntry {
    const route: Record<string, string> = {};
    for (const [slot, value] of Object.entries(constraints)) {
      const field = SLOT_FIELDS.taxi[canonicalSlot(slot)];
      if (field && !isAbsentValue(value) && !isDontcare(value)) route[field] = basicKey(value);
    }
    let h = fnv1a(JSON.stringify(Object.entries(route).sort()));
    // xorshift steps so colour, type and phone digits do not share the same low bits.
    const random = () => {
      h ^= h << 13;
      h ^= h >>> 17;
      h ^= h << 5;
      return (h >>> 0) / 4294967296;
    };
    return this.taxi(random, route);
  }

  private taxi(random: () => number, route: Record<string, string>): VenueEntry {
    const color = this.fleet.colors[drawIndex(random, this.fleet.colors.length)] ?? 'black';
    const type = this.fleet.types[drawIndex(random, this.fleet.types.length)] ?? 'toyota';
    // taxi_db.json gives the phone format as ten digits.
    let phone = '';
    for (let i = 0; i < 10; i++) phone += String(drawIndex(random, 10));
    return Object.freeze({ name: `${color} ${type}`, color, type, phone, ...route });
  }
}

/** leaveat: departure ≥ time; arriveby: arrival ≤ time; any alternative suffices. */
function timePredicate(slot: 'train-leaveat' | 'train-arriveby', alternatives: string[]): Predicate {
  const times = alternatives.map(parseTime).filter((t): t is number => t !== undefined);
  if (slot === 'train-leaveat') return (row) => times.some((t) => row.leave !== undefined && row.leave >= t);
  return (row) => times.some((t) => row.arrive !== undefined && row.arrive <= t);
}

// Parsed databases by resolved folder: loading the train table costs ~30 ms and every
// simulated turn queries it. Process-wide on purpose, and safe: the key is the resolved `db/`
// folder, whose files are the MultiWOZ release's (read-only data, never written by dst-synth),
// and a `VenueDb` holds only frozen records and no per-caller state (draws take the caller's
// `random`), so sharing one between activities, runs and tests cannot leak anything. A test
// that wants other venues passes another folder. Activities get it through
// `GenerationResources.venues()`.
const cache = new Map<string, VenueDb>();

/**
 * The databases under `dir` (default `multiwozDir()`): either the MultiWOZ folder holding `db/`
 * or the `db/` folder itself. Cached per folder; records are frozen and shared.
 */
export function loadVenueDb(dir: string = multiwozDir()): VenueDb {
  const dbDir = resolveDbDir(dir);
  let db = cache.get(dbDir);
  if (!db) {
    db = new VenueDb(dbDir);
    cache.set(dbDir, db);
  }
  return db;
}
