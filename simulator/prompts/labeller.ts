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
// offered name counts once accepted), `dontcare`, cumulative states, closed value lists.
const SYSTEM_MESSAGE = [
  'You annotate the dialogue state of a travel dialogue in Cambridge: what the USER wants so far.',
  'Rules:',
  '- Use only the listed slots, spelled exactly.',
  '- Values as the USER said them, or as the USER accepted them from the SYSTEM.',
  '- Write "dontcare" when the USER says any / doesn\'t matter.',
  '- Keep earlier slots unless the USER changes them.',
  '- For slots with listed values, use one of those values only.',
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
 * The answer schema narrowed to the listed slots (categorical ones to their values), to
 * constrain decoding (`StructuredRequest.decodingSchema`). Answers are still validated with
 * the looser `LabelAnswer`, so the rule checks see, and record, whatever a model writes.
 */
export function labelDecodingSchema(slots: LabelPromptInput['slots']) {
  const props = Object.fromEntries(
    slots.map((s) => [
      s.slot,
      (s.values?.length ? z.enum(s.values as [string, ...string[]]) : z.string().max(80)).optional(),
    ]),
  );
  return z.object({ state: z.object(props) });
}
