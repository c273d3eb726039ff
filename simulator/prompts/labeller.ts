/**
 * The state labeller's prompt (DESIGN.md §3.6): the cumulative dialogue state after the last user
 * turn, read from the user's side of the dialogue. The answer is JSON (`LabelAnswer`); rule checks
 * clean it up afterwards.
 *
 * Machine-readable anchor (last message):
 *
 * ```
 * Slots:
 * - hotel-area (area of the hotel): centre, east, north, south, west, dontcare
 * - hotel-name (name of the hotel)
 * Dialogue:
 * USER: …
 * SYSTEM: …
 * USER: …
 *
 * Previous state: {"hotel-area":"north"}
 * ```
 *
 * A slot line is `- <slot> (<description>)`, followed by `: <values>` (comma-separated, with
 * `dontcare`) for categorical slots. `Previous state:` is one line of JSON.
 */
import { z } from 'zod';
import type { LabelPromptInput } from '../types';
import type { ChatMessage } from '../../llm/types';

// Small models write numbers and booleans for `stars`, `bookpeople`, `parking`; the schema (and
// so the decoding grammar) asks for strings, but such answers are coerced instead of retried.
const Value = z.preprocess(
  (v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v),
  // Bounded so a grammar-constrained small model cannot ramble inside one string until maxTokens.
  z.string().max(80),
);

/** The labeller's answer: the whole cumulative state, slot → value. */
export const LabelAnswer = z.object({ state: z.record(z.string(), Value) });
export type LabelAnswer = z.infer<typeof LabelAnswer>;

/**
 * The update labeller's answer (`LabellerOptions.answer: 'update'`): the slots the turn adds or
 * changes, slot → value; `none` removes a slot (see `mergeUpdate`).
 */
export const LabelUpdate = z.object({ update: z.record(z.string(), Value) });
export type LabelUpdate = z.infer<typeof LabelUpdate>;

/** Schema name for `StructuredRequest.schemaName`. */
export const LABEL_ANSWER_NAME = 'label_answer';

// Each rule mirrors a MultiWOZ annotation convention the rule checks would otherwise have to
// repair: exact slot names (unknown ones are dropped), values the user said or accepted (an
// offered name counts once accepted), `dontcare`, cumulative states, closed value lists. The
// first rules and the example target what small models do most (label audit on dev
// dialogues): fill every listed slot, with `dontcare` or invented values.
const SYSTEM_MESSAGE = [
  'You annotate the dialogue state of a travel dialogue in Cambridge: what the USER wants so far.',
  'Rules:',
  '- Include ONLY slots whose value the USER has stated, or accepted from the SYSTEM. Leave every other slot out: most listed slots stay out of the state.',
  '- Never fill a slot with a guess, a default or "dontcare" because it is listed.',
  '- Write "dontcare" only when the USER says that slot does not matter to them (any area, any price).',
  '- Booking slots (book day, people, stay, time) only when the USER gives them.',
  '- A name only when the USER names a place, or agrees to the one the SYSTEM offered.',
  '- Use only the listed slots, spelled exactly; values as the USER said them.',
  '- Keep earlier slots unless the USER changes them.',
  '- For slots with listed values, use one of those values only.',
  'Example: USER: I need a cheap hotel in the north for 2 nights.',
  'Answer: {"state": {"hotel-pricerange": "cheap", "hotel-area": "north", "hotel-type": "hotel", "hotel-bookstay": "2"}}',
].join('\n');

/**
 * How the labeller is asked (each choice measured with `audit-labels`; README "How good is the
 * data?"). `BASELINE_LABELLER` is the zero-shot, whole-state labeller the first audit measured.
 */
export interface LabellerOptions {
  /**
   * Real training turns shown as worked examples with their state update (`../retrieval.ts`,
   * BM25 over the 2.1 train split); 0: none.
   */
  examples: number;
  /**
   * `state`: the labeller writes the whole cumulative state; `update`: only the turn's change,
   * merged into the previous state by code (`mergeUpdate` in `../label-turn.ts`).
   */
  answer: 'state' | 'update';
  /**
   * `listed`: `dontcare` is listed among every categorical slot's values (the baseline, which
   * over-labelled it); `stated`: it is listed nowhere, and one rule says it is for the slot
   * the USER says has no preference, and no other.
   */
  dontcare: 'listed' | 'stated';
}

export const BASELINE_LABELLER: LabellerOptions = { examples: 0, answer: 'state', dontcare: 'listed' };

/**
 * The labeller generation and the audit use unless told otherwise: retrieved examples, update
 * answers, `dontcare` stated by one rule (measured on test and dev: README "How good is the
 * data?").
 */
export const DEFAULT_LABELLER: LabellerOptions = { examples: 3, answer: 'update', dontcare: 'stated' };

/** `LabellerOptions` in a config (generation and audit settings); every field defaults to `DEFAULT_LABELLER`'s. */
export const LabellerOptionsSchema = z
  .object({
    examples: z.number().int().min(0).max(20).default(DEFAULT_LABELLER.examples),
    answer: z.enum(['state', 'update']).default(DEFAULT_LABELLER.answer),
    dontcare: z.enum(['listed', 'stated']).default(DEFAULT_LABELLER.dontcare),
  })
  .strict();

/** A worked example: a real training turn and its gold state update. */
export interface LabelExample {
  system: string;
  user: string;
  update: Record<string, string>;
}

function slotLine(s: LabelPromptInput['slots'][number], dontcare: LabellerOptions['dontcare']): string {
  const head = `- ${s.slot} (${s.description})`;
  if (!s.values || s.values.length === 0) return head;
  const values =
    dontcare === 'stated'
      ? s.values.filter((v) => v !== 'dontcare')
      : s.values.includes('dontcare')
        ? s.values
        : [...s.values, 'dontcare'];
  return `${head}: ${values.join(', ')}`;
}

// The update labeller's rules: the same conventions as SYSTEM_MESSAGE, for the turn's change.
// `dontcare` is tied to the one slot the user waives (the baseline's 234 extra values were
// mostly `dontcare` written into every slot once the user said "any" or "no preference").
const UPDATE_SYSTEM_MESSAGE = [
  'You annotate the dialogue state of a travel dialogue in Cambridge: what the USER wants.',
  'For the last USER turn, write its UPDATE: only the slots whose value that turn states, changes, or accepts from the SYSTEM. Everything else stays out (most turns update 0 to 3 slots).',
  'Rules:',
  '- Never fill a slot with a guess or a default because it is listed.',
  '- Booking slots (book day, people, stay, time) only when the USER gives them.',
  '- A name only when the USER names a place, or agrees to the one the SYSTEM offered.',
  '- Use only the listed slots, spelled exactly; values as the USER said them; for slots with listed values, one of those values.',
  '- Do not repeat slots the dialogue already set unless the last USER turn changes them.',
  '- Thanks, goodbyes and questions about a place (address, phone, price) update nothing: {}.',
].join('\n');

const DONTCARE_RULE =
  '- "dontcare" only for the one slot the USER says does not matter to them ("any area" → that area slot; "it doesn\'t matter" to the SYSTEM\'s question about price → that price slot). Never for slots the USER did not talk about.';

/** The end of a long system turn (its question, mostly): the example's tokens are evaluated every call. */
function systemTail(text: string, words = 20): string {
  const all = text.trim().split(/\s+/);
  return all.length <= words ? all.join(' ') : `… ${all.slice(-words).join(' ')}`;
}

const exampleLine = (e: LabelExample) =>
  [
    ...(e.system.trim() ? [`[system] ${systemTail(e.system)}`] : []),
    `[user] ${e.user.trim()}`,
    `Answer: ${JSON.stringify({ update: e.update })}`,
  ].join('\n');

/**
 * Messages asking for the state after the last USER line. The previous state is given so the
 * model extends it rather than re-deriving it (cheaper, and it keeps checked corrections).
 *
 * Every part that changes from turn to turn comes after the dialogue, which only grows: the
 * examples (retrieved per turn), the previous state and the question. A local model keeps one
 * KV-cache sequence per dialogue (`llm/local.ts`) and so evaluates only the new turns plus
 * this tail. The examples are written `[system]`/`[user]`, never `SYSTEM:`/`USER:`, so they
 * cannot be read as lines of the dialogue.
 */
export function labelPrompt(
  input: LabelPromptInput & { examples?: readonly LabelExample[] },
  options: LabellerOptions = BASELINE_LABELLER,
): ChatMessage[] {
  const update = options.answer === 'update';
  const examples = input.examples ?? [];
  const last = input.history[input.history.length - 1];
  const body = [
    'Slots:',
    ...input.slots.map((s) => slotLine(s, options.dontcare)),
    'Dialogue:',
    ...input.history.map((l) => `${l.speaker}: ${l.text}`),
    '',
    ...(examples.length
      ? [
          'Examples from other annotated dialogues (a SYSTEM turn, the USER turn after it, and its update):',
          ...examples.map(exampleLine),
          '',
          `Now the last USER turn of the dialogue above: ${JSON.stringify(last?.text ?? '')}`,
        ]
      : []),
    // After the dialogue, which only grows: a local model then reuses the cached prompt prefix.
    // An update needs no previous state (the dialogue shows it; a repeated value merges to no
    // change), and every token after the dialogue is evaluated again on each call.
    ...(update ? [] : [`Previous state: ${JSON.stringify(input.previous)}`]),
    update
      ? 'Answer as JSON {"update": {...}}: only what the last USER turn adds or changes ({} when nothing).'
      : 'Answer as JSON {"state": {...}}: the previous state plus what the last USER turn adds or changes.',
  ];
  let system = update ? UPDATE_SYSTEM_MESSAGE : SYSTEM_MESSAGE;
  if (options.dontcare === 'stated') {
    system = update
      ? `${system}\n${DONTCARE_RULE}`
      : system.replace(/^- Write "dontcare" only when .*$/m, DONTCARE_RULE);
  }
  if (update && !examples.length)
    system += `\nExample: USER: I need a cheap hotel in the north for 2 nights.\nAnswer: {"update": {"hotel-pricerange": "cheap", "hotel-area": "north", "hotel-type": "hotel", "hotel-bookstay": "2"}}`;
  return [
    { role: 'system', content: system },
    { role: 'user', content: body.join('\n') },
  ];
}

/**
 * The answer schema narrowed to the listed slot names, to constrain decoding
 * (`StructuredRequest.decodingSchema`): `state` holds any subset of them, as a record
 * (`propertyNames`), never an object with every slot as a property, because llama.cpp
 * grammars (node-llama-cpp) make every listed property required, which forced small models to
 * write a value, mostly `dontcare`, into every listed slot (label audit: raw JGA near 0).
 * Categorical values are not enumerated per slot (a record cannot say which key takes which
 * values); the prompt lists them and the `invalid_value` check drops others. Answers are
 * still validated with the looser `LabelAnswer`, so the checks see whatever a model writes.
 */
export function labelDecodingSchema(
  slots: LabelPromptInput['slots'],
  answer: LabellerOptions['answer'] = 'state',
) {
  const names = slots.map((s) => s.slot);
  // Bounded so a grammar-constrained small model cannot ramble until maxTokens.
  const value = z.string().max(80);
  const record = names.length
    ? z.partialRecord(z.enum(names as [string, ...string[]]), value).meta({ maxProperties: names.length })
    : z.object({});
  return answer === 'update' ? z.object({ update: record }) : z.object({ state: record });
}
