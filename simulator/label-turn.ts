/**
 * The state labeller role as one call (DESIGN.md §3.6): prompt, decoding schema and the rule
 * checks applied to its answer. Generation (`engine.ts` labelStep) and the label audit
 * (`audit/`) both go through `labelTurn`, so the audit scores exactly what generation stores.
 *
 * With a reveal plan (generation) the checks are `checkLabel`'s full list, then
 * `keepMentioned`. Without one (real dialogues) the plan-bound checks cannot apply:
 *
 * - `unrevealed`, `goal_mismatch` and `not_revealed` need the plan: skipped;
 * - `unknown_slot`, `invalid_value` and `name_no_match` (database names) apply as in generation;
 * - `not_cumulative` applies, but "the user changes this slot now" (which the plan says in
 *   generation) is read from the user's words, as `validateDialogue` does: a slot may change
 *   when the new value is mentioned, or be dropped when the old one is;
 * - `not_mentioned` applies as in generation, against the real user utterance and the system
 *   utterance before it.
 *
 * How the labeller is asked is `LabellerOptions` (`prompts/labeller.ts`), the same for
 * generation and the audit: worked examples retrieved from the training split
 * (`retrieval.ts`), the whole state or only the turn's update (merged by `mergeUpdate`), and
 * how `dontcare` is offered. In update mode the "raw" answer the audit scores is the update
 * merged into the previous (checked) state, so raw and checked stay comparable states.
 */
import { normaliseTradeValue } from '../metrics/normalise';
import { InvalidLlmOutputError, truncatedUsage } from '../llm/errors';
import type { LlmClient, StructuredRequest, StructuredResult, Usage } from '../llm/types';
import { addUsage } from '../llm/usage';
import { isAbsentValue } from '../multiwoz/loaders/common';
import { canonicalSlot, slotDomain, TRACKED_SLOTS } from '../multiwoz/slots';
import { checkLabel, ordered, type CheckDeps } from './checks';
import { isMentioned } from './mentions';
import {
  DEFAULT_LABELLER,
  LabelAnswer,
  LabelUpdate,
  labelDecodingSchema,
  labelPrompt,
  ROLE,
  slotDescription,
  type LabelExample,
  type LabellerOptions,
} from './prompts';

export { DEFAULT_LABELLER };
import type { TurnRetriever } from './retrieval';
import { respell } from './spellings';
import { REASON, type CheckFailure, type HistoryLine, type LabelPromptInput } from './types';

export type LabelSlot = LabelPromptInput['slots'][number];

/** The slots of `domains` as the labeller sees them, categorical values in label spelling. */
export function labelSlotsFor(domains: Iterable<string>, ontology: CheckDeps['ontology']): LabelSlot[] {
  const wanted = new Set(domains);
  return TRACKED_SLOTS.filter((slot) => wanted.has(slot.split('-')[0]!)).map((slot) => ({
    slot,
    description: slotDescription(slot),
    // In the label spelling goals and MultiWOZ 2.1/2.4 labels use (`guest house`, not the schema's `guesthouse`).
    values: ontology.isCategorical(slot)
      ? [...new Set(ontology.possibleValues(slot).map((v) => normaliseTradeValue(slot, v)))]
      : undefined,
  }));
}

/** What the reveal plan says about this turn (generation only). */
export interface LabelPlan {
  /** See `CheckLabelInput.goalValues`. */
  goalValues: Readonly<Record<string, string>>;
  /** Slots revealed up to and including this turn. */
  revealed: ReadonlySet<string>;
  /** Slots the user changes in this turn. */
  changedNow: ReadonlySet<string>;
}

export interface LabelTurnInput {
  llm: LlmClient;
  deps: CheckDeps;
  /** The dialogue so far, ending with the user turn to label. */
  history: HistoryLine[];
  /** The state after the previous user turn (`{}` before the first). */
  previous: Record<string, string>;
  slots: LabelSlot[];
  /** 0-based index of the user turn (copied into failures). */
  turn: number;
  /** The system utterance just before this user turn (`''` for the first). */
  systemText: string;
  /** Generation's plan; absent on real dialogues (see the module comment). */
  plan?: LabelPlan;
  /** How the labeller is asked. Default `DEFAULT_LABELLER`. */
  options?: LabellerOptions;
  /** Training turns for `options.examples`; without one no examples are shown. */
  retriever?: TurnRetriever;
  /** The labelled dialogue's id, never retrieved from (when it is a training dialogue). */
  dialogueId?: string;
}

export interface LabelTurnResult {
  /**
   * The labeller's answer as parsed, before any check: its state, or (update answers) its
   * update merged into `previous`.
   */
  raw: Record<string, string>;
  /** The update as the labeller wrote it (update answers only). */
  update?: Record<string, string>;
  /** The worked examples shown (dialogue id and user-turn index of each). */
  examples?: Array<{ dialogueId: string; turn: number }>;
  /** The state after the checks. */
  state: Record<string, string>;
  /** Every failed check, corrected ones included (`checkLabel`'s, then `not_mentioned`). */
  failures: CheckFailure[];
  /** Slots the plan wanted but the state lacks (not revealed, or not said): re-plan them. */
  missing: string[];
  /** The LLM call (usage, cost). */
  call: StructuredResult<LabelAnswer | LabelUpdate>;
}

/**
 * The previous state with a turn's update applied (pure). Rules, per slot of the update (slot
 * names in any spelling, canonicalised):
 *
 * - a value adds the slot, or overwrites the previous value (`dontcare` is a value like any
 *   other: it overwrites, and is overwritten);
 * - an absent value (`none`, `""`, `not mentioned`) deletes the slot (the user withdraws it);
 * - a slot the update does not name keeps its previous value.
 *
 * Whether a change or a deletion was allowed is the checks' business (`not_cumulative`).
 */
export function mergeUpdate(
  previous: Readonly<Record<string, string>>,
  update: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = Object.fromEntries(
    Object.entries(previous).map(([k, v]) => [canonicalSlot(k), v]),
  );
  for (const [slot, raw] of Object.entries(update)) {
    const key = canonicalSlot(slot);
    const value = String(raw).trim();
    if (isAbsentValue(value)) delete out[key];
    else out[key] = value;
  }
  return ordered(out);
}

/** Completion tokens of an update answer: 6 slots with long values fit (measured: a rambling answer ran to 160). */
const UPDATE_MAX_TOKENS = 96;

/** The one retry of an update cut off at UPDATE_MAX_TOKENS gets twice the room. */
const UPDATE_RETRY_MAX_TOKENS = 2 * UPDATE_MAX_TOKENS;

/**
 * An update answer within UPDATE_MAX_TOKENS; cut off there, asked once more with
 * UPDATE_RETRY_MAX_TOKENS; cut off again, an invalid answer (`InvalidLlmOutputError`: the
 * generation attempt is rejected as `invalid_llm_output`, the run goes on). Both bounds are
 * ours, not the user's `maxTokens`, so a rambling small model must not stop the run with the
 * "raise maxTokens" error, nor decode 512 tokens of a runaway answer on a CPU.
 */
async function askUpdate(
  llm: LlmClient,
  request: Omit<StructuredRequest<LabelUpdate>, 'schema'>,
): Promise<StructuredResult<LabelUpdate>> {
  const ask = (maxTokens: number) => llm.structured({ ...request, schema: LabelUpdate, maxTokens });
  let spent: Usage | undefined;
  try {
    return await ask(UPDATE_MAX_TOKENS);
  } catch (err) {
    spent = truncatedUsage(err);
    if (spent === undefined) throw err;
  }
  try {
    const c = await ask(UPDATE_RETRY_MAX_TOKENS);
    return { ...c, usage: addUsage(spent, c.usage), calls: (c.calls ?? 1) + 1 };
  } catch (err) {
    const again = truncatedUsage(err);
    if (again === undefined) throw err;
    const reason = `the state update ran past ${UPDATE_RETRY_MAX_TOKENS} completion tokens twice`;
    throw new InvalidLlmOutputError(reason, addUsage(spent, again), 0, '', 2);
  }
}

/** The worked examples for this turn: the most similar training turns, of the listed domains. */
function examplesFor(
  input: LabelTurnInput,
  k: number,
): Array<LabelExample & { dialogueId: string; turn: number }> {
  if (!input.retriever || k <= 0) return [];
  const user = input.history[input.history.length - 1]?.text ?? '';
  return input.retriever.search(
    {
      system: input.systemText,
      user,
      domains: new Set(input.slots.map((s) => slotDomain(s.slot))),
      excludeDialogue: input.dialogueId,
    },
    k,
  );
}

/** Asks the labeller for the state after the last user turn and applies the rule checks. */
export async function labelTurn(input: LabelTurnInput): Promise<LabelTurnResult> {
  const options = input.options ?? DEFAULT_LABELLER;
  const found = examplesFor(input, options.examples);
  // The least similar first: the best example sits next to the question.
  const examples = [...found].reverse();
  const messages = labelPrompt(
    { history: input.history, previous: input.previous, slots: input.slots, examples },
    options,
  );
  const request = {
    role: ROLE.LABELLER,
    temperature: 0,
    messages,
    decodingSchema: labelDecodingSchema(input.slots, options.answer),
    schemaName: options.answer === 'update' ? 'state_update' : 'dialogue_state',
  };
  let raw: Record<string, string>;
  let update: Record<string, string> | undefined;
  let call: StructuredResult<LabelAnswer | LabelUpdate>;
  if (options.answer === 'update') {
    // An update is short (a few slots); bounded so a rambling answer cannot take minutes on a CPU.
    const c = await askUpdate(input.llm, request);
    update = c.value.update;
    raw = mergeUpdate(input.previous, update);
    call = c;
  } else {
    const c = await input.llm.structured({ ...request, schema: LabelAnswer });
    raw = c.value.state;
    call = c;
  }
  const userText = input.history[input.history.length - 1]?.text ?? '';
  return {
    raw,
    ...(update ? { update } : {}),
    ...(found.length ? { examples: found.map((e) => ({ dialogueId: e.dialogueId, turn: e.turn })) } : {}),
    call,
    // The checks see the annotators' spelling (silently, as a goal's spelling is taken).
    ...checkTurnLabel({ ...input, raw: input.retriever ? respell(raw, input.retriever) : raw, userText }),
  };
}

/** The checks of `labelTurn` on an answer already in hand (pure). */
export function checkTurnLabel(input: {
  raw: Readonly<Record<string, string>>;
  previous: Record<string, string>;
  turn: number;
  userText: string;
  systemText: string;
  deps: CheckDeps;
  plan?: LabelPlan;
}): Omit<LabelTurnResult, 'raw' | 'call' | 'update' | 'examples'> {
  const plan = input.plan ?? planFromWords(input.raw, input.previous, input.userText);
  const checked = checkLabel({
    turn: input.turn,
    label: input.raw,
    previous: input.previous,
    goalValues: plan.goalValues,
    revealed: plan.revealed,
    changedNow: plan.changedNow,
    deps: input.deps,
  });
  // Without a plan every slot counts as revealed, so `not_revealed` means nothing: drop it.
  const checkFailures = input.plan
    ? checked.failures
    : checked.failures.filter((f) => f.reason !== REASON.NOT_REVEALED);
  const spoken = keepMentioned(checked.state, input.previous, input.userText, input.systemText, input.turn);
  const recovered = missedLabels(checkFailures, plan, input.userText, input.turn);
  const missing = [
    ...checkFailures
      .filter((f) => f.reason === REASON.NOT_REVEALED && !(f.slot! in recovered.state))
      .map((f) => f.slot!),
    ...spoken.failures.map((f) => f.slot!),
  ];
  return {
    state: ordered({ ...spoken.state, ...recovered.state }),
    failures: [
      ...checkFailures.filter((f) => !(f.reason === REASON.NOT_REVEALED && f.slot! in recovered.state)),
      ...recovered.failures,
      ...spoken.failures,
    ],
    missing,
  };
}

/**
 * Revealed slots the labeller left out although the user's utterance says their planned value:
 * added with that value (`MISSED_LABEL`). Re-planning them instead made the user repeat the same
 * words turn after turn until the domain's cap (measured: most `domain_cap_exceeded` rejections
 * with the 1.5B default model). A value the user did not say is still re-planned.
 */
function missedLabels(
  failures: readonly CheckFailure[],
  plan: LabelPlan,
  userText: string,
  turn: number,
): { state: Record<string, string>; failures: CheckFailure[] } {
  const state: Record<string, string> = {};
  const out: CheckFailure[] = [];
  for (const f of failures) {
    const value = f.slot === undefined ? undefined : plan.goalValues[f.slot];
    if (f.reason !== REASON.NOT_REVEALED || value === undefined || !isMentioned(f.slot!, value, userText))
      continue;
    state[f.slot!] = value;
    out.push({
      reason: REASON.MISSED_LABEL,
      turn,
      slot: f.slot,
      detail: `${f.slot}=${value}: said, not labelled`,
    });
  }
  return { state, failures: out };
}

/** A plan-free stand-in: nothing to align with, every slot revealed, changes read from words. */
function planFromWords(
  raw: Readonly<Record<string, string>>,
  previous: Record<string, string>,
  userText: string,
): LabelPlan {
  const label = Object.fromEntries(Object.entries(raw).map(([k, v]) => [canonicalSlot(k), String(v)]));
  const changedNow = new Set<string>();
  for (const [slot, before] of Object.entries(previous)) {
    const now = label[slot];
    // A removal needs the user to name what goes; a change, what comes (as `validateDialogue`).
    if (isMentioned(slot, now ?? before, userText)) changedNow.add(slot);
  }
  return { goalValues: {}, revealed: new Set(TRACKED_SLOTS), changedNow };
}

/**
 * A value may enter the state only when the user said it, or accepted it from the system's
 * last turn (`isMentioned`): labels corrected to the plan must not cover for a user agent
 * that never said the thing. Unmentioned new values are removed (generation re-plans them).
 */
export function keepMentioned(
  state: Record<string, string>,
  previous: Record<string, string>,
  userText: string,
  systemText: string,
  turn: number,
): { state: Record<string, string>; failures: CheckFailure[] } {
  const out: Record<string, string> = {};
  const failures: CheckFailure[] = [];
  for (const [slot, value] of Object.entries(state)) {
    const isNew = previous[slot] !== value;
    if (!isNew || isMentioned(slot, value, userText) || isMentioned(slot, value, systemText)) {
      out[slot] = value;
      continue;
    }
    // An unspoken change does not enter, and the slot's earlier value stays: dropping it would
    // make the state non-cumulative (a 'Yes, please.' lost hotel-parking in SYN21-000030).
    const before = previous[slot];
    if (before !== undefined) out[slot] = before;
    failures.push({
      reason: REASON.NOT_MENTIONED,
      turn,
      slot,
      detail:
        `${slot}=${value} is not in what the user said` + (before === undefined ? '' : `; kept ${before}`),
    });
  }
  return { state: out, failures };
}
