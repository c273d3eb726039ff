/**
 * The user agent's prompt (DESIGN.md §3.3): a first-time visitor who says only the facts the
 * reveal plan gives it for this turn. The answer is free text (no JSON).
 *
 * The dialogue so far is a transcript (`Agent: …` / `You: …`) in the last message, and that message
 * ends with the instruction block. Machine-readable anchor: the block, which both an LLM and
 * `tests/helpers/scripted-roles.ts` read:
 *
 * ```
 * [Your next message]
 * Intent: inform
 * Domain: hotel
 * Task: Tell the agent what you are looking for, using the facts below.
 * Facts:
 * - area: north
 * - star rating: 4
 * Ask about: phone number, postcode
 * Reply with the visitor's next message only, as the visitor would say it.
 * ```
 *
 * `Domain:`, `Facts:` and `Ask about:` appear only when they have content. A fact line is
 * `- <slotDescription(slot)>: <value>`, the description prefixed by the slot's domain when it
 * differs from `Domain:` (`- taxi pick-up place: …`); `dontcare` is written `doesn't matter`.
 */
import { slotDomain } from '../../multiwoz/slots';
import { USER_INTENT, type HistoryLine, type UserIntent, type UserPromptInput } from '../types';
import type { ChatMessage } from '../../llm/types';

/** Heading of the final instruction block; scripts find the block by it. */
export const USER_INSTRUCTION_HEADING = '[Your next message]';

/** Starts the line with a real visitor's turn for the same facts (simulator/user-examples.ts). */
export const USER_EXAMPLE_LINE = 'Example of a visitor saying such facts:';

/** How `dontcare` is written in a fact line: the model should say "any … is fine", not a code word. */
export const DONTCARE_WORDS = "doesn't matter";

// Human words for slots and requestable properties, by slot name without its domain. A short table
// beats the schema descriptions ("price budget of the hotel"): fewer tokens, and it reads like
// something a visitor would say. Descriptions are unique within a domain so a fact line maps back
// to one slot.
const WORDS: Record<string, string> = {
  area: 'area',
  pricerange: 'price range',
  stars: 'star rating',
  parking: 'parking',
  internet: 'internet',
  name: 'name',
  food: 'food type',
  bookday: 'booking day',
  bookpeople: 'number of people',
  bookstay: 'number of nights',
  booktime: 'booking time',
  day: 'day of travel',
  departure: 'departure station',
  destination: 'destination station',
  leaveat: 'leave after',
  arriveby: 'arrive by',
  address: 'address',
  phone: 'phone number',
  postcode: 'postcode',
  entrancefee: 'entrance fee',
  openhours: 'opening hours',
  trainid: 'train ID',
  price: 'price',
  duration: 'travel time',
  ref: 'reference number',
};

// Where one word does not fit every domain (a taxi has no stations; "type" alone is vague).
const DOMAIN_WORDS: Record<string, string> = {
  'hotel-type': 'type of place',
  'attraction-type': 'type of attraction',
  'taxi-departure': 'pick-up place',
  'taxi-destination': 'drop-off place',
  'taxi-leaveat': 'leave at',
  'taxi-type': 'car type',
};

/**
 * Human phrase for a canonical slot or a requestable property: `hotel-pricerange` → `price range`,
 * `train-leaveat` → `leave after`, `phone` → `phone number`. Unknown names fall back to the slot
 * part with a `book` prefix spelled out, so nothing ever reaches a prompt as `domain-slot`.
 */
export function slotDescription(slot: string): string {
  const key = slot.trim().toLowerCase();
  const exact = DOMAIN_WORDS[key];
  if (exact) return exact;
  const bare = key.includes('-') ? key.slice(key.indexOf('-') + 1) : key;
  return WORDS[bare] ?? bare.replace(/^book(?=\w)/, 'booking ').replace(/[-_]+/g, ' ');
}

/** Label of a fact line: the description, with the domain in front when it is not the turn's. */
export function factLabel(slot: string, domain: string | undefined): string {
  const d = slotDomain(slot);
  const words = slotDescription(slot);
  return d === slot || d === domain ? words : `${d} ${words}`;
}

/** `a`, `a and b`, `a, b and c`. */
function joinWords(words: string[]): string {
  return words.length <= 1
    ? (words[0] ?? '')
    : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

// One short task per intent. The model already knows the rules; this says what the turn is for.
const TASKS: Record<UserIntent, (input: UserPromptInput) => string> = {
  [USER_INTENT.GREET]: () =>
    'Just greet the agent and say you need help with your trip; give no details yet.',
  [USER_INTENT.INFORM]: () => 'Tell the agent what you are looking for, using the facts below.',
  [USER_INTENT.CHANGE]: ({ change }) => {
    const what = change ? `${slotDescription(change.slot)} (${change.from})` : 'choice';
    return `Say your earlier ${what} doesn't matter that much after all, and give the new value below.`;
  },
  [USER_INTENT.RECOMMEND]: () => 'Ask the agent to recommend a place.',
  // The details are named in the task itself: "the details listed under …" was copied verbatim
  // into the user's turn by the 1.5B default model.
  // ("…of the train you discussed" was copied too.)
  [USER_INTENT.REQUEST]: ({ requests }) => {
    const asks = (requests ?? []).map(slotDescription);
    return `Ask the agent for ${asks.length > 0 ? `the ${joinWords(asks)}` : 'more details'}.`;
  },
  [USER_INTENT.BOOK]: () => 'Ask the agent to book it with the details below.',
  [USER_INTENT.CLOSE_DOMAIN]: ({ domain }) =>
    `Thank the agent and say you have what you need for the ${domain ?? 'moment'}.`,
  [USER_INTENT.END]: () => 'Thank the agent and say goodbye.',
};

// Intents whose task already points at the facts; others get a reminder when facts come along.
const USES_FACTS: ReadonlySet<UserIntent> = new Set([
  USER_INTENT.INFORM,
  USER_INTENT.BOOK,
  USER_INTENT.CHANGE,
]);

function task(input: UserPromptInput, hasFacts: boolean): string {
  // "…with the details below" and no details made the model ask the agent for them; "Ask the
  // agent to go ahead and book it for you" came back as the agent's "I'll go ahead and book it
  // for you" (the 300-goal run, 2026-12-06): the task names the visitor's own words instead.
  if (input.intent === USER_INTENT.BOOK && !hasFacts)
    return 'Say that you want it and ask the agent to make the booking.';
  const base = TASKS[input.intent](input);
  const withFacts =
    hasFacts && !USES_FACTS.has(input.intent) ? `${base} Also mention the facts below.` : base;
  return withFacts + dontcareTask(input);
}

/**
 * A fact line "price range: doesn't matter" alone was ignored by the 1.5B default model, which
 * repeated its previous message instead (seen with `simulate --trace`); the task names it.
 */
function dontcareTask(input: UserPromptInput): string {
  const labels = Object.entries(input.reveal)
    .filter(([, v]) => v === 'dontcare')
    .map(([slot]) => factLabel(slot, input.domain));
  if (labels.length === 0) return '';
  return ` Say that the ${joinWords(labels)} ${labels.length > 1 ? 'do' : 'does'}n't matter to you.`;
}

/** Facts to say now: the revealed slots plus, for a change, the new value of the changed slot. */
function facts(input: UserPromptInput): Array<[string, string]> {
  const all: Record<string, string> = { ...input.reveal };
  if (input.intent === USER_INTENT.CHANGE && input.change) all[input.change.slot] = input.change.to;
  return Object.entries(all).map(([slot, value]) => [
    factLabel(slot, input.domain),
    value === 'dontcare' ? DONTCARE_WORDS : value,
  ]);
}

/**
 * A request asked plainly, as MultiWOZ visitors do ("Could I get the phone number and postcode,
 * please?"): the fallback of a request turn the LLM failed twice (simulator/engine.ts).
 */
export function plainRequest(requests: readonly string[]): string | undefined {
  if (requests.length === 0) return undefined;
  return `Could I get the ${joinWords(requests.map(slotDescription))}, please?`;
}

/**
 * The retry's reminder of what the turn must say, or undefined when it has no facts: told only
 * "with the facts given", the 1.5B default model restated earlier facts again ("I'm looking for a
 * train ticket that arrives at 11:00…" twice, its planned day left out; run gen-real100-s23).
 */
export function mustMention(input: UserPromptInput): string | undefined {
  const lines = facts(input);
  if (lines.length === 0) return undefined;
  return `Your message must mention: ${lines.map(([label, value]) => `${label} ${value}`).join('; ')}.`;
}

function instruction(input: UserPromptInput): string {
  const lines = facts(input);
  const out = [USER_INSTRUCTION_HEADING, `Intent: ${input.intent}`];
  if (input.domain) out.push(`Domain: ${input.domain}`);
  out.push(`Task: ${task(input, lines.length > 0)}`);
  if (lines.length > 0) out.push('Facts:', ...lines.map(([label, value]) => `- ${label}: ${value}`));
  const asks = input.intent === USER_INTENT.REQUEST ? (input.requests ?? []) : [];
  if (asks.length > 0) out.push(`Ask about: ${asks.map(slotDescription).join(', ')}`);
  if (input.example) out.push(`${USER_EXAMPLE_LINE} "${input.example}"`);
  out.push("Reply with the visitor's next message only, as the visitor would say it.");
  if (input.note) out.push(input.note);
  return out.join('\n');
}

function systemMessage(persona: string): string {
  // Each rule is there because models break it otherwise: adding details the plan did not reveal
  // makes the state labels disagree with the goal; slot names leak from the fact list; long
  // answers are unlike MultiWOZ users (about 17 tokens a turn).
  return [
    'You are role-playing a visitor to Cambridge for the first time, talking to a travel agent at the TownInfo centre.',
    `Persona: ${persona}`,
    'Rules:',
    '- Say ONLY the facts given for this turn. Never invent other details.',
    '- Natural, casual language; one or two sentences.',
    '- Never write slot names or labels; say it as a person would.',
    // Chat-tuned models slide back into the assistant's voice ("let me know if you need anything").
    '- You are the visitor, not the agent: never offer help or ask what the agent needs.',
  ].join('\n');
}

const LABEL = /^\s*(?:you|visitor|user|agent|system)\s*:\s*/i;
// A line introducing the answer ("Sure, here's the next message:"), seen in accepted dialogues.
const PREAMBLE = /^[^\n]{0,60}\bhere(?:'s| is)\b[^\n]{0,40}:\s*\n/i;
// A quoted answer after a word of assent: 'Certainly. "Thanks, I'd love to book it."'.
const QUOTED_AFTER_OK = /^(?:sure|certainly|okay|ok|of course)[,.!]?\s*"([^"]+)"$/i;
const NEXT_SPEAKER = /\n\s*(?:you|visitor|user|agent|system)\s*:/i;

/**
 * Where the user's answer ends: the next transcript line the model goes on to write ("…\nAgent:
 * …"). `cleanUserUtterance` cuts it anyway; stopping there saves decoding it (at ~8 tokens/s on
 * 2 cores, seconds per call). Four, the most OpenAI's `stop` takes.
 */
export const USER_STOP = ['\nAgent:', '\nYou:', '\nVisitor:', '\nUser:'] as const;

/**
 * Completion tokens of one user turn: about 50 words. The longest user turn of the MultiWOZ 2.1
 * test split has 41 words (99 % have at most 33); the 1.5B model's turns ran to 100+ tokens of
 * the agent's part ("I'll check the timetable… According to the timetable…"), decoded at
 * ~8 tokens/s.
 */
export const USER_MAX_TOKENS = 72;

/** A turn cut off by the token limit, up to its last whole sentence (as is when it has none). */
export function toLastSentence(text: string): string {
  const m = /^[\s\S]*[.!?](?=\s|$)/.exec(text);
  return m ? m[0].trim() : text.trim();
}

/**
 * The user's turn as the model wrote it, without transcript furniture: a line introducing it
 * ("Sure, here's the next message:"), a leading speaker label ("Agent: I'm looking for…", seen
 * with the 1.5B default model), a further transcript line it went on to write, and wrapping
 * quotes (also after "Sure,"/"Certainly."). Falls back to the trimmed text when nothing is left.
 */
export function cleanUserUtterance(text: string): string {
  let t = text.trim().replace(PREAMBLE, '').trim().replace(LABEL, '');
  const next = NEXT_SPEAKER.exec(t);
  if (next) t = t.slice(0, next.index);
  t = t
    .trim()
    .replace(QUOTED_AFTER_OK, '$1')
    .replace(/^"([^"]*)"$/, '$1')
    .trim();
  return t || text.trim();
}

// Who said what, from the visitor's side. The dialogue goes in as a transcript inside one message,
// not as chat turns: with its own earlier lines as `assistant` turns, the 1.5B default model took
// the assistant's part ("Sure, I can help with that. Could you please provide the following
// details?"). The transcript only grows, so a local model reuses its cached prefix.
const SPEAKER = { USER: 'You', SYSTEM: 'Agent' } as const;

/** Stands for the transcript lines a bounded window leaves out. */
export const EARLIER_LINES = '(… earlier messages not shown)';

function transcript(history: HistoryLine[], lines?: number): string {
  if (history.length === 0) return '(You walk up to the TownInfo desk. Nobody has spoken yet.)';
  const shown =
    lines !== undefined && history.length > lines ? history.slice(history.length - lines) : history;
  const text = shown.map((l) => `${SPEAKER[l.speaker]}: ${l.text}`).join('\n');
  return shown === history ? text : `${EARLIER_LINES}\n${text}`;
}

/**
 * Messages for the user agent's next utterance: system message (persona and rules), then one
 * message with the dialogue so far as a transcript and the final instruction block (see the file
 * comment).
 */
export function userPrompt(input: UserPromptInput): ChatMessage[] {
  const body = [
    'Conversation so far:',
    transcript(input.history, input.historyLines),
    '',
    instruction(input),
  ];
  return [
    { role: 'system', content: systemMessage(input.persona) },
    { role: 'user', content: body.join('\n') },
  ];
}
