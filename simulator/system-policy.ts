/**
 * What the system agent may do and say, computed from the real database (DESIGN.md §3.4),
 * and the grounding check of its answer: it may only name entities that exist and match.
 */
import { nameKey, type VenueDb, type VenueEntry } from '../multiwoz/venues';
import type { TrackedDomain } from '../multiwoz/types';
import { isBookSlot } from './goal-types';
import type { Rng } from './rng';
import { openRequests } from './user-policy';
import { currentState, type Session, type SessionUserTurn } from './session';
import {
  SYSTEM_ACTION,
  USER_INTENT,
  type HistoryLine,
  type SystemAction,
  type SystemPromptInput,
} from './types';

/** With more matches than this, the agent asks for another constraint first. */
export const MANY_MATCHES = 5;
/** Candidates shown to the agent. */
export const MAX_CANDIDATES = 5;

/** Entity fields a user may ask about, by request name. */
const REQUEST_FIELDS: Record<string, string[]> = {
  address: ['address'],
  phone: ['phone'],
  postcode: ['postcode'],
  pricerange: ['pricerange'],
  price: ['price', 'pricerange'],
  area: ['area'],
  type: ['type'],
  food: ['food'],
  stars: ['stars'],
  internet: ['internet'],
  parking: ['parking'],
  'entrance fee': ['entrance fee'],
  trainid: ['trainID'],
  duration: ['duration'],
  leaveat: ['leaveAt'],
  arriveby: ['arriveBy'],
  // A taxi's entity is its car ("blue skoda", the `type` field); goals ask for it as `car type`.
  'car type': ['type'],
};

export interface SystemTurnPlan {
  input: SystemPromptInput;
  /** Entities the agent may name (all current matches). */
  matches: VenueEntry[];
  domain?: TrackedDomain;
}

export function entityName(domain: TrackedDomain, e: VenueEntry): string {
  if (domain === 'train') return String(e.trainID ?? '');
  if (domain === 'taxi') return `${String(e.color ?? '')} ${String(e.type ?? '')}`.trim();
  return String(e.name ?? '');
}

export function history(s: Session): HistoryLine[] {
  return s.turns.map((t) => ({ speaker: t.speaker, text: t.utterance }));
}

function domainConstraints(state: Record<string, string>, domain: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [slot, v] of Object.entries(state))
    if (slot.startsWith(`${domain}-`) && !isBookSlot(slot)) out[slot] = v;
  return out;
}

function candidate(db: VenueDb, domain: TrackedDomain, e: VenueEntry): Record<string, string> {
  return { name: entityName(domain, e), ...db.entityAttributes(domain, e) };
}

/**
 * Requests among `requests` whose value for entity `e` the utterance says ("… is located at
 * 12 Regent Street"): the agent has told the visitor, who should not ask for it again.
 */
export function toldIn(e: VenueEntry | undefined, requests: readonly string[], utterance: string): string[] {
  const text = utterance.toLowerCase();
  const answers = answersFor(e, [...requests]);
  return Object.entries(answers)
    .filter(([, v]) => v.length >= 2 && text.includes(v.toLowerCase()))
    .map(([r]) => r);
}

function answersFor(e: VenueEntry | undefined, requests: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!e) return out;
  for (const r of requests) {
    for (const field of REQUEST_FIELDS[r] ?? [r]) {
      const v = e[field];
      if (typeof v === 'string' || typeof v === 'number') {
        out[r] = String(v);
        break;
      }
    }
  }
  return out;
}

function allowedFor(
  intent: SessionUserTurn['intent'],
  n: number,
  missingBook: string[],
  missingSlots: string[],
): SystemAction[] {
  if (intent === USER_INTENT.GREET) return [SYSTEM_ACTION.GREET];
  if (intent === USER_INTENT.END) return [SYSTEM_ACTION.BYE];
  if (n === 0) return [SYSTEM_ACTION.NO_MATCH];
  if (intent === USER_INTENT.REQUEST) return [SYSTEM_ACTION.ANSWER];
  if (intent === USER_INTENT.BOOK) return missingBook.length ? [SYSTEM_ACTION.REQUEST] : [SYSTEM_ACTION.BOOK];
  if (intent === USER_INTENT.RECOMMEND) return [SYSTEM_ACTION.RECOMMEND];
  if (n > MANY_MATCHES && missingSlots.length) return [SYSTEM_ACTION.REQUEST, SYSTEM_ACTION.RECOMMEND];
  return [SYSTEM_ACTION.INFORM, SYSTEM_ACTION.RECOMMEND];
}

/** The facts and allowed actions for the system turn after the last user turn. */
export function planSystemTurn(s: Session, db: VenueDb, rng: Rng): SystemTurnPlan {
  const last = s.turns[s.turns.length - 1] as SessionUserTurn;
  const i = s.domainIndex;
  const g = s.goal.domains[i];
  const p = s.domains[i];
  const hist = history(s);
  const bare = (allowed: SystemAction[]): SystemTurnPlan => ({
    input: {
      domain: undefined,
      allowed,
      constraints: {},
      matchCount: 0,
      candidates: [],
      missingSlots: [],
      history: hist,
    },
    matches: [],
  });
  if (!g || !p || last.intent === USER_INTENT.GREET || last.intent === USER_INTENT.END) {
    return bare([last.intent === USER_INTENT.END ? SYSTEM_ACTION.BYE : SYSTEM_ACTION.GREET]);
  }
  const domain = g.domain;
  const state = currentState(s);
  const constraints = domainConstraints(state, domain);
  const matches = db.query(domain, constraints);
  // The entity already offered stays first, so the agent keeps talking about it.
  const chosen = matches.find((e) => entityName(domain, e) === p.entity);
  const ordered = chosen ? [chosen, ...matches.filter((e) => e !== chosen)] : matches;
  const informable = Object.keys(db.entityAttributes(domain, matches[0] ?? {}));
  const missingSlots = informable.filter((x) => !(x in constraints) && !x.endsWith('-name'));
  const missingBook = Object.keys(g.book).filter((x) => !(x in state));
  const allowed = allowedFor(last.intent, matches.length, missingBook, missingSlots);
  const input: SystemPromptInput = {
    domain,
    allowed,
    constraints,
    matchCount: matches.length,
    candidates: ordered.slice(0, MAX_CANDIDATES).map((e) => candidate(db, domain, e)),
    missingSlots:
      allowed[0] === SYSTEM_ACTION.REQUEST && last.intent === USER_INTENT.BOOK ? missingBook : missingSlots,
    history: hist,
  };
  if (allowed.includes(SYSTEM_ACTION.BOOK)) input.bookingReference = db.bookingReference(() => rng.next());
  if (allowed.includes(SYSTEM_ACTION.ANSWER))
    input.answers = answersFor(chosen ?? ordered[0], openRequests(g, p, s.goalIndex));
  return { input, matches: ordered, domain };
}

/**
 * The plan narrowed away from the agent's previous turn, for the retry of a turn that repeated
 * it: its action, when another is allowed, and the slot it asked for, when another is missing.
 * A repeat follows a visitor turn that moved nothing on, so the same plan yields the same words
 * again: the 1.5B default model wrote the identical sentence at temperature 1.0 in 36 of
 * gen-real100-s22's rejected attempts. Another action or slot is what a MultiWOZ agent does next.
 */
export function awayFromPrevious(
  input: SystemPromptInput,
  previous: { action: string; slot?: string } | undefined,
): SystemPromptInput {
  if (!previous) return input;
  const allowed = input.allowed.filter((a) => a !== previous.action);
  const missingSlots = input.missingSlots.filter((x) => x !== previous.slot);
  return {
    ...input,
    allowed: allowed.length ? allowed : input.allowed,
    missingSlots: missingSlots.length ? missingSlots : input.missingSlots,
  };
}

/** Entities the action must name. */
const NEEDS_ENTITY: ReadonlySet<SystemAction> = new Set([
  SYSTEM_ACTION.RECOMMEND,
  SYSTEM_ACTION.BOOK,
  SYSTEM_ACTION.ANSWER,
]);

export interface SystemAnswerLike {
  action: string;
  entity: string | null;
  utterance: string;
}

/**
 * Database names long enough to spot in free text without false alarms ("ask" is a
 * restaurant; "the place" an attraction whose key is "place").
 */
function namesIn(db: VenueDb, domain: TrackedDomain, text: string): string[] {
  if (domain === 'taxi') return [];
  const key = ` ${nameKey(text)} `;
  if (domain === 'train') return [...text.matchAll(/\bTR\d{4}\b/gi)].map((m) => m[0].toUpperCase());
  return db
    .entries(domain)
    .map((e) => String(e.name ?? ''))
    .filter((n) => nameKey(n).length >= 6 && key.includes(` ${nameKey(n)} `));
}

/**
 * Checks a system answer against the plan; returns the problem in words (sent back to the
 * model once), or the entity it names.
 */
export function groundAnswer(
  plan: SystemTurnPlan,
  answer: SystemAnswerLike,
  db: VenueDb,
): { ok: true; entity?: string } | { ok: false; problem: string } {
  const { input, matches, domain } = plan;
  if (!input.allowed.includes(answer.action as SystemAction))
    return {
      ok: false,
      problem: `action "${answer.action}" is not allowed now; use one of: ${input.allowed.join(', ')}`,
    };
  if (!domain) return { ok: true };
  const allowedNames = new Set(matches.map((e) => entityName(domain, e).toLowerCase()));
  const found = namesIn(db, domain, answer.utterance);
  // "nandos" inside "nandos city centre" is the longer name, not a second venue.
  const stray = found.filter(
    (n) =>
      !allowedNames.has(n.toLowerCase()) && !found.some((m) => m !== n && nameKey(m).includes(nameKey(n))),
  );
  if (stray.length)
    return {
      ok: false,
      problem: `the utterance names ${stray.join(', ')}, which does not match the request`,
    };
  let entity: string | undefined;
  if (answer.entity) {
    const e =
      domain === 'taxi'
        ? matches[0]
        : (matches.find((m) => entityName(domain, m).toLowerCase() === answer.entity!.toLowerCase()) ??
          (() => {
            const hit = db.matchEntityName(domain, answer.entity!);
            return hit && matches.find((m) => entityName(domain, m) === entityName(domain, hit));
          })());
    if (!e) return { ok: false, problem: `entity "${answer.entity}" is not one of the candidates` };
    entity = entityName(domain, e);
  }
  if (NEEDS_ENTITY.has(answer.action as SystemAction) && !entity)
    return { ok: false, problem: `action "${answer.action}" needs "entity": one of the candidates` };
  if (
    answer.action === SYSTEM_ACTION.BOOK &&
    input.bookingReference &&
    !answer.utterance.includes(input.bookingReference)
  )
    return { ok: false, problem: `the utterance must give the reference ${input.bookingReference}` };
  return { ok: true, entity };
}
