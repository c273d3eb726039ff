/**
 * The three evaluation conventions (DESIGN.md §1), selectable by name.
 *
 * A convention turns a gold state into, per slot, the set of values that count as right,
 * and a predicted state into one value per slot. Scoring then compares the two over the
 * 30 tracked slots; a slot absent on both sides is right.
 *
 * - `trade` — MultiWOZ 2.4 / TRADE: values normalised by `normaliseTradeValue` (the table
 *   in `normalise.ts`); `none`/`not mentioned`/empty mean absent; the turn is right when
 *   the set of slot=value pairs is equal. Gold lists (2.2 data) accept any of their
 *   normalised forms.
 * - `sgd` — MultiWOZ 2.2 / schema-guided: gold values are lists of acceptable surface
 *   forms; a prediction is right when it equals one of them after lower-casing only;
 *   `dontcare` is an ordinary value.
 * - `luas` — how the LUAS paper scored 2.2: every `dontcare` dropped on both sides, only
 *   the first gold value of each list kept, lower-cased exact match over 30 slots. Not
 *   strictly comparable with `sgd`; offered to compare with the paper's numbers.
 */
import { TRACKED_SLOTS } from '../multiwoz/slots';
import type { DialogueState } from '../multiwoz/types';
import { ABSENT, lowerClean, normaliseTradeValue } from './normalise';

export const CONVENTION = { TRADE: 'trade', SGD: 'sgd', LUAS: 'luas' } as const;
export type Convention = (typeof CONVENTION)[keyof typeof CONVENTION];
export const CONVENTION_NAMES: readonly Convention[] = Object.values(CONVENTION);

/** Gold as the scorer sees it: slot → acceptable values (non-empty sets only). */
export type GoldSlots = Map<string, ReadonlySet<string>>;
/** A prediction as the scorer sees it: slot → value. */
export type PredSlots = Map<string, string>;

export interface ConventionRules {
  name: Convention;
  /** One line for reports. */
  summary: string;
  gold(state: DialogueState): GoldSlots;
  pred(state: Readonly<Record<string, string>>): PredSlots;
}

const TRACKED: ReadonlySet<string> = new Set(TRACKED_SLOTS);

function goldWith(
  state: DialogueState,
  clean: (slot: string, v: string) => string,
  firstOnly: boolean,
): GoldSlots {
  const out: GoldSlots = new Map();
  for (const [slot, values] of Object.entries(state)) {
    if (!TRACKED.has(slot)) continue;
    const set = new Set<string>();
    for (const v of firstOnly ? values.slice(0, 1) : values) {
      const c = clean(slot, v);
      if (c !== ABSENT) set.add(c);
    }
    if (set.size) out.set(slot, set);
  }
  return out;
}

function predWith(
  state: Readonly<Record<string, string>>,
  clean: (slot: string, v: string) => string,
): PredSlots {
  const out: PredSlots = new Map();
  for (const [slot, value] of Object.entries(state)) {
    if (!TRACKED.has(slot)) continue;
    const c = clean(slot, value);
    if (c !== ABSENT) out.set(slot, c);
  }
  return out;
}

const lower = (_slot: string, v: string) => v.toLowerCase();
const lowerNoDontcare = (_slot: string, v: string) => {
  const c = lowerClean(v);
  return c === 'dontcare' ? ABSENT : v.toLowerCase();
};

export const CONVENTIONS: Readonly<Record<Convention, ConventionRules>> = {
  trade: {
    name: 'trade',
    summary: 'MultiWOZ 2.4 / TRADE: 30 slots, normalised values, set equality',
    gold: (s) => goldWith(s, normaliseTradeValue, false),
    pred: (s) => predWith(s, normaliseTradeValue),
  },
  sgd: {
    name: 'sgd',
    summary: 'MultiWOZ 2.2 / schema-guided: any gold surface form, lower-cased exact match',
    gold: (s) => goldWith(s, lower, false),
    pred: (s) => predWith(s, lower),
  },
  luas: {
    name: 'luas',
    summary: 'LUAS paper: dontcare dropped, first gold value only, lower-cased exact match',
    gold: (s) => goldWith(s, lowerNoDontcare, true),
    pred: (s) => predWith(s, lowerNoDontcare),
  },
};
