/**
 * The value normalisation table of the MultiWOZ 2.4 / TRADE convention, in one place.
 *
 * TRADE-style scorers clean both gold and predicted values before comparing, so that
 * annotation noise (`guesthouse` vs `guest house`, `center` vs `centre`) does not count as
 * an error. Every rule here is listed in DESIGN.md §1 or in TRADE's `fix_general_label_error`
 * table, restricted to rewrites that cannot change a correct value into a wrong one.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { multiwozDir } from '../multiwoz/paths';

/** Value meaning "the slot is not filled": the slot is dropped from the state. */
export const ABSENT = '';

/** Whole-value rewrites (after lower-casing and collapsing spaces). */
export const VALUE_FIXES: Readonly<Record<string, string>> = {
  // type
  guesthouse: 'guest house',
  guesthouses: 'guest house',
  'mutiple sports': 'multiple sports',
  'mutliple sports': 'multiple sports',
  swimmingpool: 'swimming pool',
  concerthall: 'concert hall',
  'night club': 'nightclub',
  musuem: 'museum',
  churches: 'church',
  colleges: 'college',
  architectural: 'architecture',
  // area: every spelling of the centre
  center: 'centre',
  'city centre': 'centre',
  'city center': 'centre',
  'town centre': 'centre',
  'town center': 'centre',
  'centre of town': 'centre',
  'center of town': 'centre',
  'centre of cambridge': 'centre',
  'east side': 'east',
  'east area': 'east',
  'in the north': 'north',
  'north part of town': 'north',
  'west part of town': 'west',
  'the south': 'south',
  // price
  'moderate -ly': 'moderate',
  moderately: 'moderate',
  // day
  'next friday': 'friday',
  monda: 'monday',
  // stars
  '4 star': '4',
  '4 stars': '4',
  '3 .': '3',
  // dontcare, in all its spellings
  'dont care': 'dontcare',
  "don't care": 'dontcare',
  'do not care': 'dontcare',
  'does not care': 'dontcare',
  any: 'dontcare',
  // empty, in all its spellings
  none: ABSENT,
  'not mentioned': ABSENT,
  'not mendtioned': ABSENT,
  'not men': ABSENT,
};

/** Slots whose `free` (and `free parking`, `free internet`, `y`) means `yes`. */
const YES_NO_SLOTS: ReadonlySet<string> = new Set(['hotel-parking', 'hotel-internet']);
const YES_FORMS: ReadonlySet<string> = new Set(['free', 'free parking', 'free internet', 'free wifi', 'y']);
const NO_FORMS: ReadonlySet<string> = new Set(['n']);

// Process-wide caches of pure functions of read-only data, so safe to share: the number-word
// table of a `mapping.pair` (the MultiWOZ release's file, never written by dst-synth), and below
// the memo of `normaliseTradeValue`, a pure function of (slot, value) and that table. The
// default table is the one of the first `multiwozDir()` seen: every MultiWOZ copy ships the
// same `mapping.pair`, so a changed MULTIWOZ_DIR cannot change a result.
const numberWordCache = new Map<string, ReadonlyMap<string, string>>();

/**
 * Number words → digits, read from `mapping.pair`. Only its number pairs apply to slot
 * values: its other pairs split plurals (`hotels` → `hotel -s`) for tokenising utterances,
 * which would corrupt values.
 */
export function numberWordTable(file?: string): ReadonlyMap<string, string> {
  // Keyed by the argument, not the resolved path: resolving costs a stat per call.
  const key = file ?? '';
  const cached = numberWordCache.get(key);
  if (cached) return cached;
  const table = new Map<string, string>();
  for (const line of readFileSync(file ?? path.join(multiwozDir(), 'mapping.pair'), 'utf8').split('\n')) {
    const [from, to] = line.split('\t');
    if (from && to && /^\d+$/.test(to.trim())) table.set(from.trim(), to.trim());
  }
  numberWordCache.set(key, table);
  return table;
}

const TIME = /^(\d{1,2})[:.](\d{2})$/;

/** Collapses typography that is never meaningful: case, curly apostrophes, spacing. */
export function lowerClean(value: string): string {
  return value
    .toLowerCase()
    .replace(/[\u2018\u2019`]/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Normalises one value under the TRADE convention; returns `ABSENT` ('') when the value
 * means "not filled". Times are zero-padded `hh:mm` (`9:30` → `09:30`).
 */
export function normaliseTradeValue(slot: string, raw: string): string {
  const key = `${slot}\u0000${raw}`;
  let v = memo.get(key);
  if (v === undefined) {
    v = normaliseUncached(slot, raw);
    // Values repeat heavily across turns; the memo is bounded so odd input cannot grow it forever.
    if (memo.size < 100_000) memo.set(key, v);
  }
  return v;
}

const memo = new Map<string, string>();

function normaliseUncached(slot: string, raw: string): string {
  let v = lowerClean(raw);
  v = VALUE_FIXES[v] ?? v;
  if (YES_NO_SLOTS.has(slot)) {
    if (YES_FORMS.has(v)) return 'yes';
    if (NO_FORMS.has(v)) return 'no';
  }
  v = numberWordTable().get(v) ?? v;
  const t = TIME.exec(v);
  if (t?.[1] && t[2]) v = `${t[1].padStart(2, '0')}:${t[2]}`;
  return v;
}
