/**
 * A scripted stand-in for the four LLM roles, as a `Responder` of the loopback server
 * (tests/helpers/llm-server.ts). It reads the same prompts an LLM gets — through the
 * machine-readable anchors of `simulator/prompts/*` — and answers plausibly:
 *
 * - user: the facts as one sentence per domain, with fixed phrasings ("in the north",
 *   "with 4 stars", "named X", "on friday", "for 2 people", "for 3 nights", "at 19:00",
 *   "from X", "to Y", "leaving after 10:00", "arriving by 12:30"), every value verbatim;
 * - paraphraser: `count` rewrites that only add a prefix ("Hi, ", "Well, ", …);
 * - labeller: the previous state plus whatever the last USER line says in those phrasings, so a
 *   scripted user turn round-trips exactly (also through the scripted paraphraser); asked for an
 *   update (`Answer as JSON {"update": …}`), only the slots whose value that changes;
 * - system: the first allowed action, the first candidate as entity, the first missing slot;
 *   asked again after a role check (`Your last try was`), the same answer in other words.
 *
 * Options inject the faults the rule checks must catch.
 */
import { slotDomain, TRACKED_SLOTS } from '../../multiwoz/slots';
import { TRACKED_DOMAINS } from '../../multiwoz/types';
import {
  DONTCARE_WORDS,
  entityLabel,
  factLabel,
  ROLE,
  slotDescription,
  SYSTEM_FACTS_HEADING,
  USER_INSTRUCTION_HEADING,
  type Role,
} from '../../simulator/prompts';
import { SYSTEM_ACTION, USER_INTENT, type SystemAction } from '../../simulator/types';
import type { LlmServerRequest, Responder, ServerChatMessage } from './llm-server';

export interface ScriptedRolesOptions {
  /**
   * Labeller faults: `extra-slot` adds a listed slot the user never mentioned, `wrong-value`
   * changes a value the user gave, `unknown-slot` adds a slot outside the schema.
   */
  labellerNoise?: 'extra-slot' | 'wrong-value' | 'unknown-slot';
  /** The system agent names `INVENTED_ENTITY`, which is in no database. */
  systemInventsEntity?: boolean;
  /** This role answers with prose instead of JSON (twice, so the structured retry fails too). */
  invalidJsonFor?: Exclude<Role, 'user'>;
}

/** The venue a misbehaving system agent makes up. */
export const INVENTED_ENTITY = 'the grand cambridge palace';
/** The slot `labellerNoise: 'unknown-slot'` adds, after the domain (`hotel-colour`). */
export const UNKNOWN_SLOT_SUFFIX = 'colour';

// ---------------------------------------------------------------------------------------------
// Phrasings shared by the scripted user (writes them) and the scripted labeller (reads them)
// ---------------------------------------------------------------------------------------------

type Phrase = (value: string) => string;

const yesNo =
  (thing: string): Phrase =>
  (v) =>
    v === 'free' ? `with free ${thing}` : v === 'no' ? `with no ${thing}` : `with ${thing}, ${v}`;

const PHRASES: Record<string, Phrase> = {
  area: (v) => `in the ${v}`,
  pricerange: (v) => `in the ${v} price range`,
  stars: (v) => `with ${v} stars`,
  type: (v) => `of type ${v}`,
  parking: yesNo('parking'),
  internet: yesNo('internet'),
  name: (v) => `named ${v}`,
  food: (v) => `serving ${v} food`,
  bookday: (v) => `on ${v}`,
  day: (v) => `on ${v}`,
  bookpeople: (v) => `for ${v} people`,
  bookstay: (v) => `for ${v} nights`,
  booktime: (v) => `at ${v}`,
  departure: (v) => `from ${v}`,
  destination: (v) => `to ${v}`,
  leaveat: (v) => `leaving after ${v}`,
  arriveby: (v) => `arriving by ${v}`,
};

const TIME_SLOT = /-(booktime|leaveat|arriveby)$/;

function phraseOf(slot: string): Phrase {
  const bare = slot.slice(slot.indexOf('-') + 1);
  return PHRASES[bare] ?? ((v) => `with ${slotDescription(slot)} ${v}`);
}

/** How the scripted user says a slot value; `dontcare` becomes "any <description> is fine". */
export function scriptedPhrase(slot: string, value: string): string {
  return value === 'dontcare' ? `any ${slotDescription(slot)} is fine` : phraseOf(slot)(value);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const bounded = (body: string) => new RegExp(`(?:^|\\W)${body}(?=\\W|$)`, 'i');

// ---------------------------------------------------------------------------------------------
// Prompt reading
// ---------------------------------------------------------------------------------------------

/** Text after the last occurrence of `marker` in the latest message that has it. */
function afterMarker(messages: ServerChatMessage[], marker: string): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const content = String(messages[i]?.content ?? '');
    const at = content.lastIndexOf(marker);
    if (at >= 0) return content.slice(at + marker.length);
  }
  return undefined;
}

const lineValue = (text: string, key: string) =>
  new RegExp(`^${escape(key)}: ?(.*)$`, 'm').exec(text)?.[1]?.trim();

function detectRole(req: LlmServerRequest): string | undefined {
  if (req.role) return req.role;
  const all = req.messages.map((m) => String(m.content ?? '')).join('\n');
  if (all.includes(USER_INSTRUCTION_HEADING)) return ROLE.USER;
  if (all.includes(`${SYSTEM_FACTS_HEADING}\n\`\`\`json`)) return ROLE.SYSTEM;
  if (/^Keep verbatim: /m.test(all)) return ROLE.PARAPHRASER;
  if (/^Previous state: /m.test(all)) return ROLE.LABELLER;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// User
// ---------------------------------------------------------------------------------------------

interface UserAsk {
  intent: string;
  domain?: string;
  facts: Array<{ slot: string; value: string }>;
  asks: string[];
}

/** Fact label back to its slot: the inverse of `factLabel` over the tracked slots. */
function slotOfLabel(label: string, domain: string | undefined): string {
  return TRACKED_SLOTS.find((s) => factLabel(s, domain) === label) ?? `${domain ?? 'general'}-${label}`;
}

function readUserAsk(messages: ServerChatMessage[]): UserAsk | undefined {
  const block = afterMarker(messages, USER_INSTRUCTION_HEADING);
  if (block === undefined) return undefined;
  const domain = lineValue(block, 'Domain');
  const facts = [...block.matchAll(/^- (.+?): (.*)$/gm)].map(([, label = '', raw = '']) => ({
    slot: slotOfLabel(label, domain),
    value: raw === DONTCARE_WORDS ? 'dontcare' : raw,
  }));
  const asks = (lineValue(block, 'Ask about') ?? '').split(', ').filter(Boolean);
  return { intent: lineValue(block, 'Intent') ?? USER_INTENT.INFORM, domain, facts, asks };
}

const ARTICLE: Record<string, string> = { attraction: 'an attraction' };
const aPlace = (domain: string | undefined) => (domain ? (ARTICLE[domain] ?? `a ${domain}`) : 'a place');

function listWords(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/** One sentence per domain; the turn's intent decides how the main domain's sentence opens. */
function factSentences(ask: UserAsk): string[] {
  const byDomain = new Map<string, string[]>();
  for (const f of ask.facts) {
    const d = slotDomain(f.slot);
    byDomain.set(d, [...(byDomain.get(d) ?? []), scriptedPhrase(f.slot, f.value)]);
  }
  return [...byDomain].map(([d, phrases]) => {
    const what = `${aPlace(d)} ${phrases.join(', ')}`;
    if (d !== ask.domain) return `I'm also looking for ${what}.`;
    if (ask.intent === USER_INTENT.BOOK) return `Please book the ${d} ${phrases.join(', ')}.`;
    if (ask.intent === USER_INTENT.RECOMMEND) return `Could you recommend ${what}?`;
    if (ask.intent === USER_INTENT.CHANGE) return `Instead, I'd like ${what}.`;
    return `I'm looking for ${what}.`;
  });
}

/** The scripted user's utterance for an instruction block. */
function userUtterance(ask: UserAsk): string {
  const facts = factSentences(ask);
  const parts: string[] = [];
  if (ask.intent === USER_INTENT.GREET) parts.push('Hello, I need some help planning my trip.');
  if (ask.intent === USER_INTENT.CHANGE) parts.push("Actually, my earlier choice doesn't matter that much.");
  if (ask.intent === USER_INTENT.RECOMMEND && facts.length === 0)
    parts.push(`Could you recommend ${aPlace(ask.domain)}?`);
  if (ask.intent === USER_INTENT.BOOK && facts.length === 0) parts.push('Please book it.');
  parts.push(...facts);
  if (ask.intent === USER_INTENT.REQUEST) parts.push(`Could you tell me the ${listWords(ask.asks)}?`);
  if (ask.intent === USER_INTENT.CLOSE_DOMAIN)
    parts.push(`Thanks, that's all I need for the ${ask.domain ?? 'moment'}.`);
  if (ask.intent === USER_INTENT.END) parts.push('Thanks, goodbye!');
  return parts.join(' ') || 'Okay.';
}

// ---------------------------------------------------------------------------------------------
// Paraphraser
// ---------------------------------------------------------------------------------------------

const PREFIXES = ['Hi, ', 'Well, ', 'So, ', 'Okay, ', 'Right, ', 'Hmm, '];

function paraphrase(messages: ServerChatMessage[]): { rewrites: string[] } {
  const text = afterMarker(messages, 'Sentence: ') ?? '';
  const sentence = text.split('\n')[0] ?? '';
  const count = Number(lineValue(text, 'Count') ?? '1');
  const rewrites = Array.from({ length: count }, (_, i) => `${PREFIXES[i % PREFIXES.length]}${sentence}`);
  return { rewrites };
}

// ---------------------------------------------------------------------------------------------
// Labeller
// ---------------------------------------------------------------------------------------------

interface ListedSlot {
  slot: string;
  values: string[];
}

interface LabelAsk {
  slots: ListedSlot[];
  previous: Record<string, string>;
  lastUser: string;
}

function readLabelAsk(messages: ServerChatMessage[]): LabelAsk | undefined {
  const body = afterMarker(messages, 'Slots:\n');
  if (body === undefined) return undefined;
  const slots = [...body.matchAll(/^- (\S+) \([^)\n]*\)(?:: (.*))?$/gm)].map(([, slot = '', values]) => ({
    slot,
    values: (values ?? '').split(', ').filter((v) => v && v !== 'dontcare'),
  }));
  const previous = JSON.parse(lineValue(body, 'Previous state') ?? '{}') as Record<string, string>;
  const dialogue = body.slice(body.indexOf('\nDialogue:\n'));
  const users = [...dialogue.matchAll(/^USER: (.*)$/gm)];
  return { slots, previous, lastUser: users.at(-1)?.[1] ?? '' };
}

/** Value of one slot in one sentence, in the scripted user's phrasing; undefined when absent. */
function findValue(sentence: string, s: ListedSlot): string | undefined {
  if (bounded(escape(scriptedPhrase(s.slot, 'dontcare'))).test(sentence)) return 'dontcare';
  if (s.values.length > 0) {
    const byLength = [...s.values].sort((a, b) => b.length - a.length);
    return byLength.find((v) => bounded(escape(phraseOf(s.slot)(v))).test(sentence));
  }
  const [before = '', after = ''] = phraseOf(s.slot)('\u0000').split('\u0000');
  const capture = TIME_SLOT.test(s.slot) ? '(\\d{1,2}:\\d{2})' : '([^,.?!;]+?)';
  const m = new RegExp(`(?:^|\\W)${escape(before)}${capture}${escape(after)}(?=[,.?!;]|$)`, 'i').exec(
    sentence,
  );
  return m?.[1]?.trim();
}

const DOMAIN_WORD = new RegExp(`\\b(${TRACKED_DOMAINS.join('|')})\\b`, 'i');

/** Slot values of the last user line; each sentence is read within the domain it names. */
function labelLine(line: string, slots: ListedSlot[]): Record<string, string> {
  const found: Record<string, string> = {};
  let domain: string | undefined;
  for (const sentence of line.split(/(?<=[.?!])\s+/)) {
    domain = DOMAIN_WORD.exec(sentence)?.[1]?.toLowerCase() ?? domain;
    const inDomain = slots.filter((s) => domain === undefined || slotDomain(s.slot) === domain);
    for (const s of inDomain.length > 0 ? inDomain : slots) {
      const v = findValue(sentence, s);
      if (v !== undefined) found[s.slot] = v;
    }
  }
  return found;
}

function addNoise(
  state: Record<string, string>,
  found: Record<string, string>,
  ask: LabelAsk,
  noise: NonNullable<ScriptedRolesOptions['labellerNoise']>,
): Record<string, string> {
  const out = { ...state };
  if (noise === 'unknown-slot') {
    out[`${slotDomain(ask.slots[0]?.slot ?? 'hotel')}-${UNKNOWN_SLOT_SUFFIX}`] = 'blue';
  } else if (noise === 'extra-slot') {
    const absent = ask.slots.filter((s) => out[s.slot] === undefined);
    const pick = absent.find((s) => s.values.length > 0) ?? absent[0];
    if (pick) out[pick.slot] = pick.values[0] ?? 'dontcare';
  } else {
    const slot = Object.keys(found)[0] ?? Object.keys(out)[0];
    const listed = ask.slots.find((s) => s.slot === slot);
    if (slot !== undefined) {
      const v = out[slot] ?? '';
      out[slot] = listed?.values.find((x) => x !== v) ?? `wrong ${v}`;
    }
  }
  return out;
}

/** The answer in the shape asked: the whole state, or (update labeller) what changed. */
function label(
  messages: ServerChatMessage[],
  opts: ScriptedRolesOptions,
): { state: Record<string, string> } | { update: Record<string, string> } {
  const wantsUpdate = /^Answer as JSON \{"update"/m.test(String(messages.at(-1)?.content ?? ''));
  const ask = readLabelAsk(messages);
  if (!ask) return wantsUpdate ? { update: {} } : { state: {} };
  const found = labelLine(ask.lastUser, ask.slots);
  const merged = { ...ask.previous, ...found };
  const state = opts.labellerNoise ? addNoise(merged, found, ask, opts.labellerNoise) : merged;
  if (!wantsUpdate) return { state };
  return {
    update: Object.fromEntries(Object.entries(state).filter(([slot, v]) => ask.previous[slot] !== v)),
  };
}

// ---------------------------------------------------------------------------------------------
// System
// ---------------------------------------------------------------------------------------------

interface SystemFacts {
  domain: string | null;
  allowed: SystemAction[];
  matchCount: number;
  candidates: Array<Record<string, string>>;
  missingSlots?: string[];
  bookingReference?: string;
  answers?: Record<string, string>;
}

const WITH_ENTITY: ReadonlySet<string> = new Set([
  SYSTEM_ACTION.INFORM,
  SYSTEM_ACTION.RECOMMEND,
  SYSTEM_ACTION.BOOK,
  SYSTEM_ACTION.ANSWER,
]);

function readSystemFacts(messages: ServerChatMessage[]): SystemFacts | undefined {
  const text = afterMarker(messages, `${SYSTEM_FACTS_HEADING}\n\`\`\`json\n`);
  const json = text?.slice(0, text.indexOf('\n```'));
  return json ? (JSON.parse(json) as SystemFacts) : undefined;
}

function systemUtterance(action: string, entity: string | null, slot: string | null, f: SystemFacts): string {
  const answers = Object.entries(f.answers ?? {}).map(([k, v]) => `the ${slotDescription(k)} is ${v}`);
  switch (action) {
    case SYSTEM_ACTION.REQUEST:
      return `I have ${f.matchCount} options. What ${slotDescription(slot ?? 'preference')} would you like?`;
    case SYSTEM_ACTION.INFORM:
      return `I found ${f.matchCount} options; ${entity ?? 'one'} would fit.`;
    case SYSTEM_ACTION.RECOMMEND:
      return `I recommend ${entity ?? 'one of them'}.`;
    case SYSTEM_ACTION.NO_MATCH:
      return 'Sorry, nothing matches that. Could you change one of your preferences?';
    case SYSTEM_ACTION.BOOK:
      return `Booked at ${entity ?? 'your choice'}! Your reference number is ${f.bookingReference ?? 'pending'}.`;
    case SYSTEM_ACTION.ANSWER:
      return `For ${entity ?? 'that place'}, ${listWords(answers)}.`;
    case SYSTEM_ACTION.GREET:
      return 'Hello, welcome to the Cambridge TownInfo centre. How can I help?';
    default:
      return 'Thank you for using our service. Goodbye!';
  }
}

/**
 * The retry of a turn the role checks sent back (`roleNote`'s "Your last try was rejected."): said in
 * other words, as an LLM asked to move on would, so a scripted agent whose facts did not change
 * does not repeat itself word for word.
 */
function rephrased(action: string, entity: string | null, slot: string | null, f: SystemFacts): string {
  if (action === SYSTEM_ACTION.REQUEST)
    return `Noted. To narrow down ${f.matchCount} choices, which ${slotDescription(slot ?? 'preference')} do you prefer?`;
  if (action === SYSTEM_ACTION.INFORM || action === SYSTEM_ACTION.RECOMMEND)
    return `${entity ?? 'That one'} still matches everything you said. Shall I tell you more about it?`;
  return `Certainly. ${systemUtterance(action, entity, slot, f)}`;
}

const isRoleRetry = (messages: ServerChatMessage[]) =>
  messages.some((m) => String(m.content ?? '').includes('Your last try was rejected.'));

function systemAnswer(messages: ServerChatMessage[], opts: ScriptedRolesOptions) {
  const f = readSystemFacts(messages);
  if (!f) return {};
  const invent = opts.systemInventsEntity === true;
  const action = (invent ? f.allowed.find((a) => WITH_ENTITY.has(a)) : undefined) ?? f.allowed[0] ?? 'bye';
  const first = f.candidates[0];
  const named = WITH_ENTITY.has(action) && first ? (entityLabel(first) ?? null) : null;
  const entity = invent ? INVENTED_ENTITY : named;
  const slot = action === SYSTEM_ACTION.REQUEST ? (f.missingSlots?.[0] ?? null) : null;
  const say = isRoleRetry(messages) ? rephrased : systemUtterance;
  return { action, entity, slot, utterance: say(action, entity, slot, f) };
}

// ---------------------------------------------------------------------------------------------

/**
 * A responder that plays every role from its prompt. The role comes from the `x-dst-role`
 * header, or from the prompt's anchors when a client sends none; anything else gets `{}` / `ok`.
 */
export function scriptedRoles(opts: ScriptedRolesOptions = {}): Responder {
  return (req) => {
    const role = detectRole(req);
    if (role !== undefined && role === opts.invalidJsonFor) return 'Sorry, I am not able to answer that.';
    if (role === ROLE.USER) {
      const ask = readUserAsk(req.messages);
      return ask ? userUtterance(ask) : 'ok';
    }
    if (role === ROLE.PARAPHRASER) return paraphrase(req.messages);
    if (role === ROLE.LABELLER) return label(req.messages, opts);
    if (role === ROLE.SYSTEM) return systemAnswer(req.messages, opts);
    return req.structured ? {} : 'ok';
  };
}
