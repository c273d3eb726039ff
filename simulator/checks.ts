/**
 * Rule checks on dialogue states (DESIGN.md §3.6, §3.7), as pure functions:
 *
 * - `checkLabel` corrects one LLM label during simulation, where the reveal plan and the goal
 *   say what the state must be;
 * - `validateDialogue` judges any finished dialogue without a plan (real MultiWOZ, or files
 *   made elsewhere) from its utterances and states alone;
 * - `summariseVerdicts` counts verdicts per reason.
 *
 * Without a plan, "the user said it" is approximated by `isMentioned` (`./mentions`), a
 * deliberately simple, documented fuzzy text test. Real MultiWOZ fails these checks often (annotators label values
 * the system offered, copy values across domains, drop slots); the checks are not loosened
 * to hide that, since measuring it is their point.
 */
import { isAbsentValue } from '../multiwoz/loaders/common';
import { canonicalSlot, isTrackedSlot, slotDomain, TRACKED_SLOTS } from '../multiwoz/slots';
import { SPEAKER, type Dialogue, type DialogueState } from '../multiwoz/types';
import type { Ontology } from '../multiwoz/ontology';
import { isDontcare, normalizeValue, type VenueDb, type VenueDomain } from '../multiwoz/venues';
import { mentionedAny, prepare, type Prepared } from './mentions';
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
export function ordered<T>(state: Record<string, T>): Record<string, T> {
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
 *    previous value back (`NOT_CUMULATIVE`); so does a `changedNow` slot with a goal value that
 *    is now missing (a planned change is a new value, not a removal);
 * 7. a revealed slot still missing, or a `changedNow` slot still not at its goal value, is
 *    reported (`NOT_REVEALED`) but not invented: the caller re-plans it for the next turn.
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
  state = keepPrevious(state, canonicalKeys(input.previous), changed, goal, fail);
  for (const slot of revealed) {
    if (!(slot in state)) fail(REASON.NOT_REVEALED, slot, `${slot} was to be revealed but is not labelled`);
    // A planned change still at its old value is a change not labelled: re-planned like one.
    else if (changed.has(slot) && goal[slot] !== undefined && !sameValue(slot, state[slot]!, goal[slot]))
      fail(REASON.NOT_REVEALED, slot, `${slot} was to change to ${goal[slot]} but is still ${state[slot]}`);
  }
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

function keepPrevious(
  state: State,
  previous: State,
  changed: ReadonlySet<string>,
  goal: State,
  fail: Fail,
): State {
  const out: State = { ...state };
  for (const [slot, before] of Object.entries(previous)) {
    const now = out[slot];
    // A planned change (the goal holds its new value) is a new value, never a removal; without
    // a plan (the audit) a change the user's words allow may also drop the slot.
    if (changed.has(slot) && (now !== undefined || goal[slot] === undefined)) continue;
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
