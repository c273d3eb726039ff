/**
 * The training annotations' spelling of a value (the labeller's last step before the checks).
 * A small model writes a venue as it reads in the dialogue or the database ("the copper kettle",
 * "pizza hut fen ditton", "saint john's college") where MultiWOZ's annotators wrote one spelling
 * per value ("copper kettle", "pizza hut fenditton", "saint johns college"); a state that differs
 * by an article or an apostrophe is a wrong state under every JGA convention. Built from the
 * training split only, with the retriever's index (the same held-out ids excluded).
 */
import { lowerClean } from '../metrics/normalise';
import { canonicalSlot } from '../multiwoz/slots';

/** Slots whose values are places: a taxi may go to any venue, a train to any city. */
const PLACE_SLOT = /-(name|departure|destination)$/;

/**
 * The key two spellings of one value share: lower case, apostrophes dropped, `&` as `and`, a
 * leading article dropped, then letters and digits only (`fen ditton` = `fenditton`).
 */
export function spellingKey(value: string): string {
  return lowerClean(value.normalize('NFKD'))
    .replace(/'/g, '')
    .replace(/&/g, ' and ')
    .replace(/^the\s+/, '')
    .replace(/[^a-z0-9]/g, '');
}

export interface Spellings {
  /** Adds one annotated value of `slot` (multi-values `a|b` are skipped). */
  add(slot: string, value: string): void;
  /**
   * The annotators' most frequent spelling of `value` for `slot` (for place slots, of any place
   * slot when `slot` has none), or `undefined` when none shares its key.
   */
  spelling(slot: string, value: string): string | undefined;
}

type Counts = Map<string, Map<string, number>>;

function bump(table: Map<string, Counts>, group: string, key: string, value: string): void {
  let byKey = table.get(group);
  if (!byKey) table.set(group, (byKey = new Map()));
  let counts = byKey.get(key);
  if (!counts) byKey.set(key, (counts = new Map()));
  counts.set(value, (counts.get(value) ?? 0) + 1);
}

/** Most frequent spelling; ties by the shorter, then alphabetical, so the choice is stable. */
function best(counts: Map<string, number> | undefined): string | undefined {
  let out: string | undefined;
  let n = 0;
  for (const [v, c] of counts ?? []) {
    if (
      out === undefined ||
      c > n ||
      (c === n && (v.length < out.length || (v.length === out.length && v < out)))
    ) {
      out = v;
      n = c;
    }
  }
  return out;
}

const PLACES = '*places';

export function createSpellings(): Spellings {
  const table = new Map<string, Counts>();
  return {
    add(slot, value) {
      const v = value.trim();
      if (!v || v.includes('|')) return;
      const key = spellingKey(v);
      if (!key) return;
      bump(table, slot, key, v);
      if (PLACE_SLOT.test(slot)) bump(table, PLACES, key, v);
    },
    spelling(slot, value) {
      const key = spellingKey(value);
      if (!key) return undefined;
      const own = best(table.get(slot)?.get(key));
      if (own !== undefined || !PLACE_SLOT.test(slot)) return own;
      return best(table.get(PLACES)?.get(key));
    },
  };
}

/** `state` with every value the annotators spell otherwise in their spelling (pure). */
export function respell(
  state: Readonly<Record<string, string>>,
  spellings: Pick<Spellings, 'spelling'>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(state).map(([slot, v]) => [
      slot,
      v.includes('|') ? v : (spellings.spelling(canonicalSlot(slot), v) ?? v),
    ]),
  );
}
