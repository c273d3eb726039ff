/**
 * What the user does next, decided by code from the goal, the reveal plan and the dialogue
 * so far (DESIGN.md §3.2–3.3); the user LLM only puts it into words.
 */
import type { DomainGoal } from './goal-types';
import { isBookSlot } from './goal-types';
import { DOMAIN_TURN_CAP } from './reveal';
import type { DomainProgress, PendingUserMove, Session } from './session';
import { REASON, USER_INTENT, type Reason } from './types';

/** Upper bound on user turns in one dialogue, whatever the caps (a runaway guard). */
export const MAX_USER_TURNS = 40;

export type UserPlan = { move: PendingUserMove } | { reject: Reason; detail: string };

/** The value the user holds for `slot` now: the planned change's `from` until it is made. */
export function goalValue(g: DomainGoal, p: DomainProgress, slot: string): string | undefined {
  if (g.change?.slot === slot && !p.changed) return g.change.from;
  return g.constraints[slot] ?? g.book[slot];
}

/** Planned values of every goal slot up to domain `upTo`, as the checks compare them. */
export function goalValues(s: Session, upTo: number): Record<string, string> {
  const out: Record<string, string> = {};
  s.goal.domains.slice(0, upTo + 1).forEach((g, i) => {
    const p = s.domains[i]!;
    for (const slot of [...Object.keys(g.constraints), ...Object.keys(g.book)]) {
      const v = goalValue(g, p, slot);
      if (v !== undefined) out[slot] = v;
    }
  });
  return out;
}

// What a visitor asks about a venue it neither books nor had questions for: without one such
// request the dialogue ended at the agent's first suggestion, the user never choosing anything.
const FALLBACK_REQUESTS: Readonly<Record<string, readonly string[]>> = {
  restaurant: ['address', 'phone', 'postcode'],
  hotel: ['address', 'phone', 'postcode'],
  attraction: ['address', 'entrance fee', 'postcode'],
  train: ['price', 'duration'],
};

/**
 * The properties the user will ask for in domain goal `g`: the goal's requests, or (a goal with
 * neither booking nor requests) one fallback chosen by goal index; minus what the agent already
 * said (`p.told`), since a visitor does not ask for what it was just told.
 */
export function openRequests(g: DomainGoal, p: DomainProgress, goalIndex: number): string[] {
  const wantsBooking = g.domain === 'taxi' || Object.keys(g.book).length > 0;
  const fallback = FALLBACK_REQUESTS[g.domain] ?? [];
  const wanted =
    g.requests.length > 0 || wantsBooking || fallback.length === 0
      ? g.requests
      : [fallback[goalIndex % fallback.length]!];
  return wanted.filter((r) => !(p.told ?? []).includes(r));
}

/** A domain is finished when an entity was offered, booked and asked about as planned. */
export function domainComplete(g: DomainGoal, p: DomainProgress, goalIndex = 0): boolean {
  const wantsBooking = g.domain === 'taxi' || Object.keys(g.book).length > 0;
  if (g.domain !== 'taxi' && !p.entity) return false;
  if (wantsBooking && !p.booked) return false;
  return !(openRequests(g, p, goalIndex).length > 0 && !p.requested);
}

function revealMove(s: Session, i: number, slots: string[]): PendingUserMove {
  const g = s.goal.domains[i]!;
  const p = s.domains[i]!;
  const reveal: Record<string, string> = {};
  for (const slot of slots) {
    const v = goalValue(g, p, slot);
    if (v !== undefined) reveal[slot] = v;
  }
  const intent =
    slots.some((x) => !isBookSlot(x)) || slots.length === 0 ? USER_INTENT.INFORM : USER_INTENT.BOOK;
  return { intent, domainIndex: i, reveal };
}

/**
 * The slot the agent just asked for (`request`), when it belongs to goal domain `i`, the user
 * has a value for it and has not said it yet: a user answers the question asked, as in
 * MultiWOZ, rather than the next planned fact (which left agents asking again until the cap).
 */
function askedSlot(s: Session, i: number): string | undefined {
  const last = s.turns[s.turns.length - 1];
  if (last?.speaker !== 'SYSTEM' || last.action !== 'request' || !last.slot) return undefined;
  const g = s.goal.domains[i]!;
  if (!last.slot.startsWith(`${g.domain}-`) || s.revealed.includes(last.slot)) return undefined;
  return goalValue(g, s.domains[i]!, last.slot) === undefined ? undefined : last.slot;
}

function nextInDomain(s: Session, i: number): PendingUserMove | undefined {
  const g = s.goal.domains[i]!;
  const p = s.domains[i]!;
  if (g.change && p.noMatchSeen && !p.changed) {
    const c = g.change;
    return { intent: USER_INTENT.CHANGE, domainIndex: i, reveal: { [c.slot]: c.to }, change: { ...c } };
  }
  const planned = s.plan.domains[i]?.turns ?? [];
  const asked = askedSlot(s, i);
  const extra = [...p.carry, ...(asked ? [asked] : [])];
  for (let pos = p.position; pos < planned.length || (pos === p.position && extra.length); pos++) {
    const slots = [...new Set([...extra, ...(planned[pos] ?? [])])];
    // Empty positions are turns where the user asks instead of telling; skip them when there is nothing to ask.
    if (slots.length) return { ...revealMove(s, i, slots), position: pos };
    if (g.domain !== 'taxi' && !p.entity)
      return { intent: USER_INTENT.RECOMMEND, domainIndex: i, reveal: {}, position: pos };
  }
  if (g.domain !== 'taxi' && !p.entity) return { intent: USER_INTENT.RECOMMEND, domainIndex: i, reveal: {} };
  const wantsBooking = g.domain === 'taxi' || Object.keys(g.book).length > 0;
  if (wantsBooking && !p.booked) return { intent: USER_INTENT.BOOK, domainIndex: i, reveal: {} };
  const requests = openRequests(g, p, s.goalIndex);
  if (requests.length && !p.requested)
    return { intent: USER_INTENT.REQUEST, domainIndex: i, reveal: {}, requests };
  return undefined;
}

/** Plans the next user move; rejects when a domain or the dialogue runs over its cap. */
export function planUserMove(s: Session): UserPlan {
  if (s.turns.length === 0 && s.plan.greeting) {
    return { move: { intent: USER_INTENT.GREET, domainIndex: 0, reveal: {} } };
  }
  const users = s.turns.filter((t) => t.speaker === 'USER').length;
  if (users >= MAX_USER_TURNS) return { reject: REASON.TOO_LONG, detail: `${users} user turns` };
  for (let i = s.domainIndex; i < s.goal.domains.length; i++) {
    const g = s.goal.domains[i]!;
    const p = s.domains[i]!;
    const move = nextInDomain(s, i);
    if (!move) continue;
    if (p.userTurns >= (DOMAIN_TURN_CAP[g.domain] ?? 8)) {
      return { reject: REASON.DOMAIN_CAP, detail: `${g.domain} not finished in ${p.userTurns} user turns` };
    }
    return { move };
  }
  return { move: { intent: USER_INTENT.END, domainIndex: s.goal.domains.length - 1, reveal: {} } };
}
