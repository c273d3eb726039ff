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

function slotLine(s: LabelPromptInput['slots'][number]): string {
  const head = `- ${s.slot} (${s.description})`;
  if (!s.values || s.values.length === 0) return head;
  const values = s.values.includes('dontcare') ? s.values : [...s.values, 'dontcare'];
  return `${head}: ${values.join(', ')}`;
}

/**
 * Messages asking for the state after the last USER line. The previous state is given so the
 * model extends it rather than re-deriving it (cheaper, and it keeps checked corrections).
 */
export function labelPrompt(input: LabelPromptInput): ChatMessage[] {
  const body = [
    'Slots:',
    ...input.slots.map(slotLine),
    'Dialogue:',
    ...input.history.map((l) => `${l.speaker}: ${l.text}`),
    '',
    // After the dialogue, which only grows: a local model then reuses the cached prompt prefix.
    `Previous state: ${JSON.stringify(input.previous)}`,
    'Answer as JSON {"state": {...}}: the previous state plus what the last USER turn adds or changes.',
  ];
  return [
    { role: 'system', content: SYSTEM_MESSAGE },
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
export function labelDecodingSchema(slots: LabelPromptInput['slots']) {
  const names = slots.map((s) => s.slot);
  // Bounded so a grammar-constrained small model cannot ramble until maxTokens.
  const value = z.string().max(80);
  if (!names.length) return z.object({ state: z.object({}) });
  return z.object({
    state: z
      .partialRecord(z.enum(names as [string, ...string[]]), value)
      .meta({ maxProperties: names.length }),
  });
}
