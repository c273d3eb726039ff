/**
 * Value sets for the 30 tracked slots, merged from three sources so label checks
 * (DESIGN.md §3.6) can tell a plausible value from an invented one:
 *
 * 1. the MultiWOZ 2.2 `schema.json`: which slots are categorical and their `possible_values`;
 * 2. the 2.1 or 2.4 `ontology.json` (keys like `hotel-book day`): every value the annotators used;
 * 3. the venue database: names, areas, food types, train stations and times.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DataFormatError, isAbsentValue, parseJson, zodDetail } from './loaders/common';
import { multiwozDir } from './paths';
import { canonicalSlot, isTrackedSlot, TRACKED_SLOTS } from './slots';
import { loadVenueDb, normalizeValue, type VenueDb, type VenueDomain } from './venues';

/** Which `ontology.json` to read: `<dir>/2.1/ontology.json` or `<dir>/2.4/ontology.json`. */
export type OntologyVersion = '2.1' | '2.4';

export interface LoadOntologyOptions {
  /** MultiWOZ folder holding `2.2/schema.json`, `2.x/ontology.json` and `db/`; default `multiwozDir()`. */
  dir?: string;
  /** Ontology file version; default `'2.4'` (its values were cleaned up with the 2.4 labels). */
  version?: OntologyVersion;
}

export interface Ontology {
  readonly version: OntologyVersion;
  /** The 30 tracked slots, canonical spelling, in `TRACKED_SLOTS` order. */
  readonly slots: string[];
  /** True when the 2.2 schema marks the slot categorical (false for unknown slots). */
  isCategorical(slot: string): boolean;
  /** Schema `possible_values` of a categorical slot, lower case, plus `dontcare`; [] otherwise. */
  possibleValues(slot: string): string[];
  /** Every known surface form (schema ∪ ontology ∪ DB), lower case; a fresh copy. */
  values(slot: string): Set<string>;
  /** True when the value (or each `a|b` alternative) equals a known value under `normalizeValue`. */
  has(slot: string, value: string): boolean;
}

const SchemaFile = z.array(
  z.object({
    service_name: z.string(),
    slots: z.array(
      z.object({
        name: z.string(),
        is_categorical: z.boolean().default(false),
        possible_values: z.array(z.string()).nullish(),
      }),
    ),
  }),
);

const OntologyFile = z.record(z.string(), z.array(z.string()));

interface SchemaSlot {
  categorical: boolean;
  values: string[];
}

interface SlotValues {
  surface: Set<string>;
  keys: Set<string>;
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new Error(`MultiWOZ ontology source missing: ${file}`);
  return parseJson(readFileSync(file, 'utf8'), file);
}

/** Canonical slot → categorical flag and lower-case possible values, from `schema.json`. */
function readSchema(file: string): Map<string, SchemaSlot> {
  const parsed = SchemaFile.safeParse(readJson(file));
  if (!parsed.success) throw new DataFormatError(file, 'schema', zodDetail(parsed.error));
  const slots = new Map<string, SchemaSlot>();
  for (const service of parsed.data)
    for (const s of service.slots)
      slots.set(canonicalSlot(s.name), {
        categorical: s.is_categorical,
        values: (s.possible_values ?? []).map((v) => v.trim().toLowerCase()),
      });
  return slots;
}

/** Canonical slot → values of `ontology.json`, `a|b` split, `none`/empty dropped. */
function readOntologyFile(file: string): Map<string, string[]> {
  const parsed = OntologyFile.safeParse(readJson(file));
  if (!parsed.success) throw new DataFormatError(file, 'ontology', zodDetail(parsed.error));
  const slots = new Map<string, string[]>();
  for (const [key, values] of Object.entries(parsed.data)) {
    const split = values.flatMap((v) => v.split('|')).map((v) => v.trim().toLowerCase());
    slots.set(
      canonicalSlot(key),
      split.filter((v) => !isAbsentValue(v)),
    );
  }
  return slots;
}

/** Values the database supports, per tracked slot; taxi ends are any venue name. */
function databaseValues(db: VenueDb): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (slot: string, value: string) => out.set(slot, [...(out.get(slot) ?? []), value]);
  const domains: VenueDomain[] = ['attraction', 'hotel', 'restaurant', 'train'];
  for (const domain of domains)
    for (const entry of db.entries(domain))
      for (const [slot, value] of Object.entries(db.entityAttributes(domain, entry))) add(slot, value);
  for (const domain of ['attraction', 'hotel', 'restaurant'] as const)
    for (const entry of db.entries(domain))
      if (entry.name)
        for (const end of ['taxi-departure', 'taxi-destination']) add(end, entry.name.toLowerCase());
  return out;
}

/** Schema `possible_values` + `dontcare` for categorical slots. */
function categoricalValues(schema: Map<string, SchemaSlot>, slot: string): string[] {
  const s = schema.get(slot);
  if (!s?.categorical) return [];
  return s.values.includes('dontcare') ? [...s.values] : [...s.values, 'dontcare'];
}

function buildSlot(slot: string, sources: ReadonlyArray<readonly string[] | undefined>): SlotValues {
  const surface = new Set(sources.flatMap((values) => values ?? []));
  const keys = new Set([...surface].map((v) => normalizeValue(slot, v)));
  return { surface, keys };
}

// Loaded ontologies by resolved folder and version. Process-wide on purpose, and safe: the
// sources are the MultiWOZ release's schema and ontology files (read-only data, never written by
// dst-synth), the key is their absolute folder, and an `Ontology` answers from maps built once
// by `buildOntology` (nothing changes them; `values()` hands out copies), so every caller of one
// folder may share it. A test with other slots passes another folder. Activities get it through `GenerationResources.ontology()`.
const cache = new Map<string, Ontology>();

/**
 * The ontology of the 30 tracked slots (defaults: `dir` = `multiwozDir()`, `version` = `'2.4'`).
 * Slots outside the 30 are unknown: not categorical, no values, `has` false.
 */
export function loadOntology(options: LoadOntologyOptions = {}): Ontology {
  const dir = path.resolve(options.dir ?? multiwozDir());
  const version = options.version ?? '2.4';
  if (version !== '2.1' && version !== '2.4')
    throw new Error(`unknown ontology version "${String(version)}"; expected 2.1 or 2.4`);
  const cacheKey = `${dir}\0${version}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const ontology = buildOntology(dir, version);
  cache.set(cacheKey, ontology);
  return ontology;
}

function buildOntology(dir: string, version: OntologyVersion): Ontology {
  const schema = readSchema(path.join(dir, '2.2', 'schema.json'));
  const annotated = readOntologyFile(path.join(dir, version, 'ontology.json'));
  const database = databaseValues(loadVenueDb(dir));
  const bySlot = new Map<string, SlotValues>();
  for (const slot of TRACKED_SLOTS)
    bySlot.set(
      slot,
      buildSlot(slot, [categoricalValues(schema, slot), annotated.get(slot), database.get(slot)]),
    );
  const tracked = (slot: string) => {
    const canonical = canonicalSlot(slot);
    return isTrackedSlot(canonical) ? canonical : undefined;
  };
  return {
    version,
    slots: [...TRACKED_SLOTS],
    isCategorical: (slot) => {
      const t = tracked(slot);
      return t !== undefined && (schema.get(t)?.categorical ?? false);
    },
    possibleValues: (slot) => {
      const t = tracked(slot);
      return t ? categoricalValues(schema, t) : [];
    },
    values: (slot) => new Set(bySlot.get(tracked(slot) ?? '')?.surface),
    has: (slot, value) => {
      const t = tracked(slot);
      const keys = t ? bySlot.get(t)?.keys : undefined;
      if (!t || !keys || isAbsentValue(value)) return false;
      return value.split('|').every((v) => keys.has(normalizeValue(t, v)));
    },
  };
}
