/**
 * The system agent's prompt (DESIGN.md §3.4): a TownInfo desk agent grounded in database facts the
 * code looked up. The answer is JSON (`SystemAnswer`).
 *
 * Machine-readable anchor: the last message holds the facts as one JSON object in a fenced block
 * after a `Facts:` line — the model reads exact names from it, scripts parse it:
 *
 * ```
 * Facts:
 * ```json
 * {"domain":"hotel","allowed":["request","inform"],"constraints":{…},"matchCount":8,
 *  "candidates":[{"name":"acorn guest house",…}],"missingSlots":["hotel-pricerange"],
 *  "bookingReference":"…","answers":{…}}
 * ```
 * ```
 */
import { z } from 'zod';
import { SYSTEM_ACTION, type HistoryLine, type SystemPromptInput } from '../types';
import type { ChatMessage } from '../../llm/types';

/** Line that precedes the fenced JSON facts block. */
export const SYSTEM_FACTS_HEADING = 'Facts:';

/**
 * The system agent's answer. `entity` and `slot` default to null because small models drop
 * fields they have nothing to say in; the JSON schema still lists them as required.
 */
export const SystemAnswer = z.object({
  action: z.enum(SYSTEM_ACTION),
  /** Exact name (or train id) of the candidate the utterance is about, or null. */
  entity: z.string().max(80).nullable().default(null),
  /** With `request`: the slot asked for (one of `missingSlots`), or null. */
  slot: z.string().max(40).nullable().default(null),
  // Bounded (here and in the other roles) so grammar-constrained local models end their strings.
  utterance: z.string().min(1).max(500),
});
export type SystemAnswer = z.infer<typeof SystemAnswer>;

/** Schema name for `StructuredRequest.schemaName`. */
export const SYSTEM_ANSWER_NAME = 'system_answer';

/**
 * How a candidate is named: its venue `name`, else its train id (`trainID`, `trainid`,
 * `train-trainid`), else a `<domain>-name` field. Undefined when it has none.
 */
export function entityLabel(candidate: Record<string, string>): string | undefined {
  const byKey = candidate.name ?? candidate.trainID ?? candidate.trainid ?? candidate['train-trainid'];
  if (byKey !== undefined) return byKey;
  const key = Object.keys(candidate).find((k) => /-name$/.test(k));
  return key === undefined ? undefined : candidate[key];
}

// Why each rule: the point of the simulation is a grounded agent, so anything not in the facts
// (a venue, a price, a reference) would put an untrue turn into the training data; the action
// list is chosen by code from the database result, so the model must not override it.
const SYSTEM_MESSAGE = [
  'You are the agent at the Cambridge TownInfo centre desk, helping a visitor with hotels, restaurants, attractions, trains and taxis.',
  'Rules:',
  '- Use ONLY the facts given: candidates, match count, booking reference, answers.',
  '- Never invent venue names, train IDs, times, prices or references.',
  '- Pick exactly one action from "allowed".',
  '- request: ask the visitor what they want for ONE of "missingSlots" (e.g. "Which area would you like?"); set "slot" to it.',
  '- inform / recommend: name a candidate exactly as written; set "entity" to that name (train ID for trains).',
  '- no_match: say nothing matches and suggest changing one preference.',
  '- book: say that YOU have booked a candidate ("I have booked …", never "I\'d like to book …"), set "entity" and give "bookingReference" exactly.',
  '- answer: give the values in "answers".',
  '- You speak for the agent only: never write what the visitor says or wants as your own words.',
  '- One or two friendly sentences.',
].join('\n');

// "Visitor"/"Agent", not USER/SYSTEM: with those labels the 1.5B default model wrote the
// visitor's part ("I need to book a 3-night stay at the acorn guest house.").
const SPEAKER = { USER: 'Visitor', SYSTEM: 'Agent' } as const;

function transcript(history: HistoryLine[]): string {
  return history.map((l) => `${SPEAKER[l.speaker]}: ${l.text}`).join('\n');
}

/** The facts object, with empty optional parts left out to keep the prompt short. */
function facts(input: SystemPromptInput): Record<string, unknown> {
  const out: Record<string, unknown> = {
    domain: input.domain ?? null,
    allowed: input.allowed,
    constraints: input.constraints,
    matchCount: input.matchCount,
    candidates: input.candidates,
  };
  if (input.missingSlots.length > 0) out.missingSlots = input.missingSlots;
  if (input.bookingReference !== undefined) out.bookingReference = input.bookingReference;
  if (input.answers !== undefined) out.answers = input.answers;
  return out;
}

/**
 * Messages for the system agent's next turn. The dialogue goes in as a transcript inside one
 * message, not as chat turns: earlier plain-text assistant turns would teach a JSON role to answer
 * in prose.
 */
export function systemPrompt(input: SystemPromptInput): ChatMessage[] {
  const body = [
    'Dialogue so far:',
    transcript(input.history) || '(no messages yet)',
    '',
    SYSTEM_FACTS_HEADING,
    '```json',
    JSON.stringify(facts(input)),
    '```',
    'Write the Agent\'s next turn as JSON: {"action", "entity", "slot", "utterance"}.',
  ];
  return [
    { role: 'system', content: SYSTEM_MESSAGE },
    { role: 'user', content: body.join('\n') },
  ];
}

/**
 * The answer schema narrowed to this turn — allowed actions, the candidates' exact names, the
 * missing slots — to constrain decoding (`StructuredRequest.decodingSchema`): a small model
 * then cannot even spell an entity that is not in the database.
 */
export function systemDecodingSchema(input: SystemPromptInput) {
  const names = [...new Set(input.candidates.map(entityLabel).filter((n): n is string => !!n))];
  const oneOf = (xs: string[]) => z.enum(xs as [string, ...string[]]);
  return z.object({
    action: oneOf(input.allowed),
    entity: names.length ? oneOf(names).nullable() : z.null(),
    slot: input.missingSlots.length ? oneOf(input.missingSlots).nullable() : z.null(),
    utterance: z.string().min(1).max(500),
  });
}
