/**
 * Rule checks on dialogue states (DESIGN.md §3.6, §3.7), as pure functions:
 *
 * - `checkLabel` corrects one LLM label during simulation, where the reveal plan and the goal
 *   say what the state must be;
 * - `validateDialogue` judges any finished dialogue without a plan (real MultiWOZ, or files
 *   made elsewhere) from its utterances and states alone;
 * - `summariseVerdicts` counts verdicts per reason.
 *
 * Without a plan, "the user said it" is approximated by `isMentioned`, a deliberately simple,
 * documented fuzzy text test. Real MultiWOZ fails these checks often (annotators label values
 * the system offered, copy values across domains, drop slots); the checks are not loosened
 * to hide that, since measuring it is their point.
 */
import { isAbsentValue } from '../multiwoz/loaders/common';
import { canonicalSlot, isTrackedSlot, slotDomain, TRACKED_SLOTS } from '../multiwoz/slots';
import { SPEAKER, type Dialogue, type DialogueState } from '../multiwoz/types';
import type { Ontology } from '../multiwoz/ontology';
import { isDontcare, normalizeValue, parseTime, type VenueDb, type VenueDomain } from '../multiwoz/venues';
import { DOMAIN_TURN_CAP } from './reveal';
import { REASON, type CheckFailure, type Reason } from './types';

/** What the checks need from the schema and the venue database (`loadOntology`, `loadVenueDb`). */
export interface CheckDeps {
  ontology: Pick<Ontology, 'isCategorical' | 'possibleValues'>;
  db: Pick<VenueDb, 'matchEntityName'>;
}

// ---------------------------------------------------------------------------------------------
// Shared value tests
// ---------------------------------------------------------------------------------------------

/** Domains whose `-name` slot names a database entry. */
const NAME_DOMAINS: ReadonlySet<string> = new Set<VenueDomain>(['hotel', 'restaurant', 'attraction']);

const sameValue = (slot: string, a: string, b: string) => normalizeValue(slot, a) === normalizeValue(slot, b);

/** True when a categorical slot's value is outside the schema's `possible_values` (+ dontcare). */
function isInvalidCategorical(deps: CheckDeps, slot: string, value: string): boolean {
  if (!deps.ontology.isCategorical(slot)) return false;
  const allowed = new Set(deps.ontology.possibleValues(slot).map((v) => normalizeValue(slot, v)));
  return !value.split('|').every((v) => isDontcare(v) || allowed.has(normalizeValue(slot, v)));
}

/** True for a hotel/restaurant/attraction name that matches no database entry closely. */
function isUnmatchedName(deps: CheckDeps, slot: string, value: string): boolean {
  const domain = slotDomain(slot);
  if (!slot.endsWith('-name') || !NAME_DOMAINS.has(domain) || isDontcare(value)) return false;
  return value.split('|').every((v) => !deps.db.matchEntityName(domain as VenueDomain, v));
}

/** Keys in `TRACKED_SLOTS` order (unknown slots last), so states print and compare stably. */
function ordered<T>(state: Record<string, T>): Record<string, T> {
  const rank = (s: string) => {
    const i = (TRACKED_SLOTS as readonly string[]).indexOf(s);
    return i < 0 ? TRACKED_SLOTS.length : i;
  };
  return Object.fromEntries(Object.entries(state).sort(([a], [b]) => rank(a) - rank(b)));
}

// ---------------------------------------------------------------------------------------------
// checkLabel: one LLM label during simulation
// ---------------------------------------------------------------------------------------------

/** Input of `checkLabel`. Slot names may use any spelling; they are canonicalised. */
export interface CheckLabelInput {
  /** 0-based index of the user turn, copied into every failure. */
  turn: number;
  /** The labeller's cumulative state after this user turn. */
  label: Readonly<Record<string, string>>;
  /** The checked state after the previous user turn (`{}` before the first). */
  previous: Readonly<Record<string, string>>;
  /**
   * The value each slot must have after this turn: the planned final value, except that a slot
   * with a planned preference change carries its old value before the change turn and its new
   * value from it on (the caller knows which turn it is).
   */
  goalValues: Readonly<Record<string, string>>;
  /** Slots the plan has revealed up to and including this turn. */
  revealed: ReadonlySet<string>;
  /** Slots the user changes in this turn (they may leave `previous`); default none. */
  changedNow?: ReadonlySet<string>;
  deps: CheckDeps;
}

/** The corrected state and every failed check (corrected ones included). */
export interface CheckLabelResult {
  state: Record<string, string>;
  failures: CheckFailure[];
}

type Fail = (reason: Reason, slot: string, detail: string) => void;
type State = Record<string, string>;

/**
 * Checks and corrects one label, in this order (DESIGN.md §3.6):
 *
 * 1. a slot outside the 30 tracked slots is dropped (`UNKNOWN_SLOT`); empty values (`""`,
 *    `none`, `not mentioned`) are dropped silently, since they mean "absent";
 * 2. a categorical value outside the schema's `possible_values` (compared by `normalizeValue`;
 *    `dontcare` allowed) is dropped (`INVALID_VALUE`);
 * 3. a slot not in `revealed` is removed (`UNREVEALED`);
 * 4. a value that differs from `goalValues[slot]` under `normalizeValue` is replaced by the goal
 *    value (`GOAL_MISMATCH`); an equal one takes the goal's spelling silently, so stored labels
 *    are canonical;
 * 5. a hotel/restaurant/attraction name with no close database match is removed
 *    (`NAME_NO_MATCH`);
 * 6. a slot of `previous` that is now missing or different, and not in `changedNow`, gets its
 *    previous value back (`NOT_CUMULATIVE`);
 * 7. a revealed slot still missing is reported (`NOT_REVEALED`) but not invented: the caller
 *    re-plans it for the next turn.
 */
export function checkLabel(input: CheckLabelInput): CheckLabelResult {
  const failures: CheckFailure[] = [];
  const fail: Fail = (reason, slot, detail) => failures.push({ reason, turn: input.turn, slot, detail });
  const revealed = new Set([...input.revealed].map(canonicalSlot));
  const changed = new Set([...(input.changedNow ?? [])].map(canonicalSlot));
  const goal = canonicalKeys(input.goalValues);
  let state = knownSlots(input.label, fail);
  state = validValues(state, input.deps, fail);
  state = revealedOnly(state, revealed, fail);
  state = alignWithGoal(state, goal, fail);
  state = matchedNames(state, input.deps, fail);
  state = keepPrevious(state, canonicalKeys(input.previous), changed, fail);
  for (const slot of revealed)
    if (!(slot in state)) fail(REASON.NOT_REVEALED, slot, `${slot} was to be revealed but is not labelled`);
  return { state: ordered(state), failures };
}

function canonicalKeys(state: Readonly<Record<string, string>>): State {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [canonicalSlot(k), v.trim()]));
}

function knownSlots(label: Readonly<Record<string, string>>, fail: Fail): State {
  const out: State = {};
  for (const [raw, value] of Object.entries(canonicalKeys(label))) {
    if (isAbsentValue(value)) continue;
    if (isTrackedSlot(raw)) out[raw] = value;
    else fail(REASON.UNKNOWN_SLOT, raw, `${raw}=${value}: not one of the 30 tracked slots`);
  }
  return out;
}

function validValues(state: State, deps: CheckDeps, fail: Fail): State {
  const out: State = {};
  for (const [slot, value] of Object.entries(state)) {
    if (!isInvalidCategorical(deps, slot, value)) out[slot] = value;
    else fail(REASON.INVALID_VALUE, slot, `${slot}=${value}: not a possible value of the schema`);
  }
  return out;
}

function revealedOnly(state: State, revealed: ReadonlySet<string>, fail: Fail): State {
  const out: State = {};
  for (const [slot, value] of Object.entries(state)) {
    if (revealed.has(slot)) out[slot] = value;
    else fail(REASON.UNREVEALED, slot, `${slot}=${value}: labelled before the plan revealed it`);
  }
  return out;
}

function alignWithGoal(state: State, goal: State, fail: Fail): State {
  const out: State = {};
  for (const [slot, value] of Object.entries(state)) {
    const want = goal[slot];
    out[slot] = want ?? value;
    if (want !== undefined && !sameValue(slot, value, want))
      fail(REASON.GOAL_MISMATCH, slot, `${slot}=${value}: the goal says ${want}`);
  }
  return out;
}

function matchedNames(state: State, deps: CheckDeps, fail: Fail): State {
  const out: State = {};
  for (const [slot, value] of Object.entries(state)) {
    if (!isUnmatchedName(deps, slot, value)) out[slot] = value;
    else fail(REASON.NAME_NO_MATCH, slot, `${slot}=${value}: no close match in the database`);
  }
  return out;
}

function keepPrevious(state: State, previous: State, changed: ReadonlySet<string>, fail: Fail): State {
  const out: State = { ...state };
  for (const [slot, before] of Object.entries(previous)) {
    if (changed.has(slot)) continue;
    const now = out[slot];
    if (now !== undefined && sameValue(slot, now, before)) continue;
    fail(
      REASON.NOT_CUMULATIVE,
      slot,
      now === undefined ? `${slot}=${before} was dropped` : `${slot} changed ${before} → ${now} unasked`,
    );
    out[slot] = before;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// isMentioned: the fuzzy "did someone say this value" test
// ---------------------------------------------------------------------------------------------

/** Normalised words of an utterance, three ways. */
interface Words {
  /** Padded with spaces: ` i want a guesthouse `. */
  spaced: string;
  /** Without spaces. */
  compact: string;
  tokens: string[];
}

/** An utterance prepared once for many `isMentioned` tests. */
interface Prepared {
  /** `john 's college` read as `johns college` and as `john college` (2.1 labels use both). */
  variants: Words[];
  /** Clock times found: minutes, and whether am/pm or the 24-hour form fixes the half day. */
  times: Array<{ minutes: number; fixed: boolean }>;
}

// Stand-alone words meaning "any value".
const DONTCARE_WORDS = ['any', 'anything', 'anywhere', 'anytime', 'whichever', 'whatever', 'either'];
// A negation followed within 5 words by a preference word: "i dont have an area preference",
// "no particular area", "it doesnt matter", "dont care", "i dont have a specific time".
const DONTCARE_PATTERN =
  / (no|not|dont|doesnt|didnt|isnt|never)( \S+){0,5} (preferences?|particular|specific|matters?|care|mind|picky|fussy|important) /;

// Words that show a yes/no slot was talked about; `free` only says yes.
const YES_NO_WORDS: Record<string, string[]> = {
  'hotel-parking': ['parking', 'park'],
  'hotel-internet': ['internet', 'wifi', 'wi fi', 'wireless'],
};

// Other ways to say a value, keyed by `normalizeValue` output.
const SYNONYMS: Record<string, string[]> = {
  centre: ['center', 'central', 'downtown'],
  north: ['northern'],
  south: ['southern'],
  east: ['eastern'],
  west: ['western'],
  cheap: ['inexpensive', 'cheaply', 'budget', 'low cost', 'low price', 'low priced'],
  moderate: ['moderately', 'mid range', 'mid priced', 'medium', 'reasonably priced'],
  expensive: ['upscale', 'high end', 'pricey', 'luxury', 'fancy'],
  'guest house': ['guesthouse', 'bed and breakfast', 'b and b'],
  architecture: ['architectural'],
  theatre: ['theater'],
  nightclub: ['club'],
  'swimming pool': ['pool', 'swimming'],
  'multiple sports': ['sports', 'sport'],
  boat: ['boating', 'punt', 'punting'],
  cinema: ['movie', 'film'],
  'concert hall': ['concert'],
  // Stations as users shorten them ("from stansted", "to kings cross").
  'stansted airport': ['stansted'],
  'london kings cross': ['kings cross'],
  'london liverpool street': ['liverpool street', 'london liverpool'],
  'birmingham new street': ['birmingham'],
};
const ONE_PERSON = ['myself', 'just me', 'only me', 'just for me', 'alone'];

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
const NUMBER_SLOT = /-(bookpeople|bookstay|stars)$/;
const TIME_SLOT = /-(leaveat|arriveby|booktime)$/;
// Slots holding venue names, whose generic words users often leave out ("the university arms").
const NAME_LIKE = /-name$|^taxi-(departure|destination)$/;
const GENERIC_WORDS = / (the|hotel|guest house|guesthouse|bed and breakfast|restaurant|college|museum) /g;
// Words this long match with one typo ("europeon", "petersborough", "archaelogy"), and forms this
// long also with spaces ignored ("fen ditton" = "fenditton"), so `east` never matches `least`.
const LONG_WORD = 6;

/**
 * Lower case; `n't` joined (`do n't` → `dont`); `'s` joined or dropped per `possessive`;
 * other apostrophes dropped; `&` → `and`; `st` → `saint`; `a.m.` → `am`; `10.30` → `10:30`;
 * other punctuation (except `:` inside clock times) → space.
 */
function normText(text: string, possessive: 's' | '' = 's'): string {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`\u00b4]/g, "'")
    .replace(/\s*n't\b/g, 'nt')
    .replace(/\s*'\s*s\b/g, possessive)
    .replace(/'/g, '')
    .replace(/&/g, ' and ')
    .replace(/\b([ap])\.\s?m\b\.?/g, '$1m')
    .replace(/\b(\d{1,2})\.(\d{2})\b/g, '$1:$2')
    .replace(/:(?!\d)|(?<!\d):/g, ' ')
    .replace(/[^a-z0-9:]+/g, ' ')
    .replace(/\bst\b/g, 'saint')
    .trim();
}

const CLOCK = /\b(\d{1,2}:\d{2}|\d{1,2}(?= ?[ap]m\b)|\d{4})( ?[ap]m\b)?|\b(noon|midday|midnight)\b/g;
// A bare hour after a time word: "arrive by 9", "leave after 5".
const BARE_HOUR = /\b(?:by|at|after|before|around|until|till|from) (\d{1,2})\b(?!:)/g;

function timesIn(spaced: string): Prepared['times'] {
  const out: Prepared['times'] = [];
  for (const m of spaced.matchAll(CLOCK)) {
    if (m[3]) {
      out.push({ minutes: m[3] === 'midnight' ? 0 : 720, fixed: true });
      continue;
    }
    const minutes = parseTime(`${m[1] ?? ''}${m[2] ?? ''}`);
    // "17:15" and "5:15 pm" fix the half day; "5:15" may mean either.
    if (minutes !== undefined) out.push({ minutes, fixed: !!m[2] || minutes >= 780 });
  }
  for (const m of spaced.matchAll(BARE_HOUR)) {
    const hour = Number(m[1]);
    if (hour >= 1 && hour <= 12) out.push({ minutes: hour * 60, fixed: false });
  }
  return out;
}

function words(normalised: string): Words {
  return { spaced: ` ${normalised} `, compact: normalised.replace(/ /g, ''), tokens: normalised.split(' ') };
}

function prepare(text: string): Prepared {
  const joined = normText(text, 's');
  const dropped = normText(text, '');
  const variants = joined === dropped ? [words(joined)] : [words(joined), words(dropped)];
  return { variants, times: timesIn(` ${joined} `) };
}

/** True when `a` and `b` are at most one insertion, deletion or substitution apart. */
function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const rest = (x: string, skip: number) => x.slice(i + skip);
  return rest(a, 1) === rest(b, 1) || rest(a, 1) === rest(b, 0) || rest(a, 0) === rest(b, 1) || a === b;
}

/** Equal, a plural of `want`, or (for long words) one typo away. */
function wordMatches(want: string, got: string): boolean {
  if (got === want || got === `${want}s` || got === `${want}es`) return true;
  return want.length >= LONG_WORD && withinOneEdit(want, got);
}

/** The words of `form`, consecutive, each matching by `wordMatches`. */
function hasWords(w: Words, form: string): boolean {
  const want = form.split(' ');
  for (let i = 0; i + want.length <= w.tokens.length; i++)
    if (want.every((x, k) => wordMatches(x, w.tokens[i + k] ?? ''))) return true;
  return false;
}

function hasForm(w: Words, form: string): boolean {
  if (!form) return false;
  const compact = form.replace(/ /g, '');
  return hasWords(w, form) || (compact.length >= LONG_WORD && w.compact.includes(compact));
}

/** The value, its comparison key, synonyms and, for names, the name without generic words. */
function forms(slot: string, value: string): string[] {
  const key = normalizeValue(slot, value);
  const out = [normText(value), normText(value, ''), normText(key), ...(SYNONYMS[key] ?? [])];
  if (NUMBER_SLOT.test(slot)) out.push(NUMBER_WORDS[Number(key)] ?? '');
  if (slot.endsWith('-bookpeople') && key === '1') out.push(...ONE_PERSON);
  if (NAME_LIKE.test(slot))
    for (const f of [...out]) {
      const core = ` ${f} `.replace(GENERIC_WORDS, ' ').trim();
      if (core.replace(/ /g, '').length >= LONG_WORD) out.push(core);
    }
  return [...new Set(out.filter(Boolean))];
}

function timeMentioned(p: Prepared, minutes: number): boolean {
  return p.times.some((t) => t.minutes === minutes || (!t.fixed && (t.minutes + 720) % 1440 === minutes));
}

function dontcareMentioned(w: Words): boolean {
  return DONTCARE_WORDS.some((f) => w.spaced.includes(` ${f} `)) || DONTCARE_PATTERN.test(w.spaced);
}

function mentionedIn(p: Prepared, slot: string, value: string): boolean {
  const [first] = p.variants;
  if (!first) return false;
  if (isDontcare(value)) return dontcareMentioned(first);
  const key = normalizeValue(slot, value);
  const yesNo = YES_NO_WORDS[slot];
  if (yesNo && (key === 'yes' || key === 'no'))
    return [...yesNo, ...(key === 'yes' ? ['free'] : [])].some((f) => hasWords(first, f));
  const minutes = TIME_SLOT.test(slot) ? parseTime(value) : undefined;
  if (minutes !== undefined) return timeMentioned(p, minutes);
  const all = forms(slot, value);
  return p.variants.some((w) => all.some((f) => hasForm(w, f)));
}

/**
 * True when `text` mentions `value` of `slot`. Rules, on normalised text (lower case,
 * `n't`/`'s` joined, apostrophes and punctuation dropped, `st` → `saint`):
 *
 * - `dontcare`: "any", "anything", "either", "whatever", … or a negation followed within five
 *   words by "preference", "particular", "specific", "matter", "care", "mind", … ("I don't
 *   have an area preference", "it doesn't matter");
 * - `hotel-parking`/`hotel-internet` yes/no: the slot's word ("parking", "internet", "wifi",
 *   …), or "free" for yes;
 * - times: a clock time with the same minutes ("17:15" = "5:15 pm" = "1715" = "17.15";
 *   "5:15" or "by 5" without am/pm count for either half day; "noon", "midnight");
 * - anything else: as consecutive whole words (plural `s`/`es` allowed; words of 6+ letters
 *   one typo away allowed), the value, its `normalizeValue` key (`center` → `centre`), a few
 *   synonyms (`central`, `inexpensive`, `bed and breakfast`, `architectural`, `stansted` for
 *   `stansted airport`, …), for numbers the number word ("myself" for one person), for names
 *   the name without `the`/hotel/guest house/restaurant/college/museum when 6+ letters remain;
 *   forms of 6+ letters also match with spaces ignored (`fen ditton` = `fenditton`);
 * - `a|b` alternatives: any one of them.
 *
 * Not understood, on purpose: references ("the same group", "the attraction", "half an hour
 * later") and bare answers ("no" to "any time preference?").
 */
export function isMentioned(slot: string, value: string, text: string): boolean {
  return mentionedAny([prepare(text)], canonicalSlot(slot), value);
}

function mentionedAny(texts: readonly Prepared[], slot: string, value: string): boolean {
  const alternatives = value.split('|').map((v) => v.trim());
  return texts.some((p) => alternatives.some((v) => v && mentionedIn(p, slot, v)));
}

// ---------------------------------------------------------------------------------------------
// validateDialogue: any dialogue, without a plan
// ---------------------------------------------------------------------------------------------

/** The verdict on one dialogue. */
export interface DialogueVerdict {
  id: string;
  /** True iff no check failed. */
  accepted: boolean;
  failures: CheckFailure[];
}

/** Dialogues of this many turns (user + system) or fewer are too short (DESIGN.md §3.7). */
export const TOO_SHORT_TURNS = 4;

/** One user turn with the context the checks need. */
interface UserTurn {
  index: number;
  state: DialogueState;
  previous: DialogueState;
  /** The user utterance of this turn. */
  user: Prepared;
  /** Every utterance up to and including this user turn (system offers included). */
  upToNow: Prepared[];
}

/** Two value lists are the same value when any normalised value is shared. */
function sameValues(slot: string, a: readonly string[], b: readonly string[]): boolean {
  const keys = new Set(a.map((v) => normalizeValue(slot, v)));
  return b.some((v) => keys.has(normalizeValue(slot, v)));
}

function canonicalState(state: DialogueState | undefined): DialogueState {
  const out: DialogueState = {};
  for (const [slot, values] of Object.entries(state ?? {})) {
    const kept = values.map((v) => v.trim()).filter((v) => !isAbsentValue(v));
    if (kept.length) out[canonicalSlot(slot)] = kept;
  }
  return out;
}

function userTurns(d: Dialogue): UserTurn[] {
  const out: UserTurn[] = [];
  const seen: Prepared[] = [];
  let previous: DialogueState = {};
  for (const turn of d.turns) {
    const p = prepare(turn.utterance);
    seen.push(p);
    if (turn.speaker !== SPEAKER.USER) continue;
    const state = canonicalState(turn.state);
    out.push({ index: out.length, state, previous, user: p, upToNow: [...seen] });
    previous = state;
  }
  return out;
}

/**
 * Checks a dialogue that has no plan (real data, or generated files from elsewhere). Per user
 * turn t and slot, a value is judged where it appears (new, or changed from turn t-1):
 *
 * - `UNKNOWN_SLOT`: not one of the 30 tracked slots;
 * - `INVALID_VALUE`: categorical value outside the schema's `possible_values` (or dontcare);
 * - `NAME_NO_MATCH`: hotel/restaurant/attraction name with no close database match;
 * - `UNREVEALED`: the value is mentioned (`isMentioned`) neither in the user utterance of t, nor
 *   in the system utterance before it (the user accepting an offer), nor in any earlier turn;
 * - `NOT_CUMULATIVE`: a slot of turn t-1 disappears, or changes value, while the user
 *   utterance of t does not mention the removed value, or the new value;
 *
 * and per dialogue:
 *
 * - `DOMAIN_CAP`: a domain's user turns, from its first to its last state change, exceed
 *   `DOMAIN_TURN_CAP` (reported at the last change);
 * - `TOO_SHORT`: `TOO_SHORT_TURNS` (4) turns or fewer, user and system (reported at the
 *   last user turn).
 *
 * Accepted iff nothing failed.
 */
export function validateDialogue(d: Dialogue, deps: CheckDeps): DialogueVerdict {
  const turns = userTurns(d);
  const failures = turns.flatMap((t) => [...valueFailures(t, deps), ...cumulativeFailures(t)]);
  failures.push(...domainCapFailures(turns));
  if (d.turns.length <= TOO_SHORT_TURNS)
    failures.push({
      reason: REASON.TOO_SHORT,
      turn: Math.max(0, turns.length - 1),
      detail: `${d.turns.length} turns; more than ${TOO_SHORT_TURNS} needed`,
    });
  return { id: d.id, accepted: failures.length === 0, failures };
}

function valueFailures(t: UserTurn, deps: CheckDeps): CheckFailure[] {
  const out: CheckFailure[] = [];
  for (const [slot, values] of Object.entries(t.state)) {
    const before = t.previous[slot];
    if (before && sameValues(slot, before, values)) continue;
    const fail = (reason: Reason, why: string) =>
      out.push({ reason, turn: t.index, slot, detail: `${slot}=${values.join('|')}: ${why}` });
    if (!isTrackedSlot(slot)) {
      fail(REASON.UNKNOWN_SLOT, 'not one of the 30 tracked slots');
      continue;
    }
    if (values.some((v) => isInvalidCategorical(deps, slot, v)))
      fail(REASON.INVALID_VALUE, 'not a possible value of the schema');
    if (values.every((v) => isUnmatchedName(deps, slot, v)))
      fail(REASON.NAME_NO_MATCH, 'no close match in the database');
    if (!values.some((v) => mentionedAny(t.upToNow, slot, v)))
      fail(REASON.UNREVEALED, 'mentioned neither by the user now nor anywhere earlier');
  }
  return out;
}

function cumulativeFailures(t: UserTurn): CheckFailure[] {
  const out: CheckFailure[] = [];
  for (const [slot, before] of Object.entries(t.previous)) {
    const now = t.state[slot];
    if (now && sameValues(slot, before, now)) continue;
    // A removal needs the user to name what goes; a change, what comes.
    const said = (now ?? before).some((v) => mentionedAny([t.user], slot, v));
    if (said) continue;
    const what = now ? `changed ${before.join('|')} → ${now.join('|')}` : `${before.join('|')} dropped`;
    out.push({
      reason: REASON.NOT_CUMULATIVE,
      turn: t.index,
      slot,
      detail: `${slot} ${what} without the user saying so`,
    });
  }
  return out;
}

/** User turns in which any slot of each domain was added, removed or changed. */
function changeTurns(turns: readonly UserTurn[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const t of turns) {
    const slots = new Set([...Object.keys(t.state), ...Object.keys(t.previous)]);
    const domains = new Set<string>();
    for (const slot of slots) {
      const a = t.previous[slot];
      const b = t.state[slot];
      if (!a || !b || !sameValues(slot, a, b)) domains.add(slotDomain(slot));
    }
    for (const domain of domains) out.set(domain, [...(out.get(domain) ?? []), t.index]);
  }
  return out;
}

function domainCapFailures(turns: readonly UserTurn[]): CheckFailure[] {
  const out: CheckFailure[] = [];
  for (const [domain, idx] of changeTurns(turns)) {
    const cap = DOMAIN_TURN_CAP[domain];
    const first = idx[0];
    const last = idx[idx.length - 1];
    if (cap === undefined || first === undefined || last === undefined) continue;
    const span = last - first + 1;
    if (span > cap)
      out.push({
        reason: REASON.DOMAIN_CAP,
        turn: last,
        detail: `${domain}: state changes span ${span} user turns (${first + 1}–${last + 1}); cap ${cap}`,
      });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// summariseVerdicts
// ---------------------------------------------------------------------------------------------

/** Counts over many verdicts. */
export interface VerdictSummary {
  accepted: number;
  rejected: number;
  /** Per reason code (all present, 0 when unseen): dialogues with at least one such failure. */
  reasons: Record<Reason, number>;
}

/** The distinct reason codes of a verdict, in `REASON` order. */
export function verdictReasons(v: DialogueVerdict): Reason[] {
  const seen = new Set(v.failures.map((f) => f.reason));
  return Object.values(REASON).filter((r) => seen.has(r));
}

/** Accepted/rejected counts and, per reason, how many dialogues had at least one failure of it. */
export function summariseVerdicts(verdicts: readonly DialogueVerdict[]): VerdictSummary {
  const reasons = Object.fromEntries(Object.values(REASON).map((r) => [r, 0])) as Record<Reason, number>;
  let accepted = 0;
  for (const v of verdicts) {
    if (v.accepted) accepted++;
    for (const r of verdictReasons(v)) reasons[r]++;
  }
  return { accepted, rejected: verdicts.length - accepted, reasons };
}
