import { slotDomain } from '../multiwoz/slots';
import { SPEAKER, TRACKED_DOMAINS, type Dialogue, type DialogueState } from '../multiwoz/types';
import type { Goal } from './goal-types';
import type { Rng } from './rng';

/** Turn positions with their own probability; later turns reveal everything left. */
export const REVEAL_POSITIONS = 5;

/** Per-domain turn caps (DESIGN.md §3.2). */
export const DOMAIN_TURN_CAP: Record<string, number> = {
  hotel: 12,
  restaurant: 8,
  attraction: 8,
  train: 8,
  taxi: 8,
};

/**
 * Reveal statistics estimated from real dialogues.
 * `byPosition[slot][k]` = P(slot revealed by the (k+1)-th user turn of its domain | the
 * slot is in the domain's final state), k = 0 … REVEAL_POSITIONS-1.
 */
export interface RevealStats {
  byPosition: Record<string, number[]>;
  /** Share of dialogues whose first user turn reveals nothing (a greeting). */
  greetingFirstTurn: number;
  /** Domain segments the estimate is based on. */
  segments: number;
}

/** Estimates reveal probabilities from real training dialogues (never typed in by hand). */
export function estimateRevealStats(dialogues: Dialogue[]): RevealStats {
  const revealed: Record<string, number[]> = {};
  const totals: Record<string, number> = {};
  let greetings = 0;
  let segments = 0;
  for (const d of dialogues) {
    const states = d.turns.filter((t) => t.speaker === SPEAKER.USER).map((t) => t.state ?? {});
    if (states.length === 0) continue;
    if (trackedKeys(states[0]!).length === 0) greetings++;
    for (const domain of TRACKED_DOMAINS) {
      const seg = domainSegment(states, domain);
      if (!seg) continue;
      segments++;
      for (const slot of seg.finalSlots) {
        totals[slot] = (totals[slot] ?? 0) + 1;
        const row = (revealed[slot] ??= new Array<number>(REVEAL_POSITIONS).fill(0));
        for (let k = 0; k < REVEAL_POSITIONS; k++) {
          const st = seg.states[Math.min(k, seg.states.length - 1)]!;
          if (st[slot] !== undefined) row[k]! += 1;
        }
      }
    }
  }
  const byPosition: Record<string, number[]> = {};
  for (const [slot, row] of Object.entries(revealed)) byPosition[slot] = row.map((n) => n / totals[slot]!);
  return { byPosition, greetingFirstTurn: dialogues.length ? greetings / dialogues.length : 0, segments };
}

function trackedKeys(state: DialogueState): string[] {
  return Object.keys(state).filter((k) => (TRACKED_DOMAINS as readonly string[]).includes(slotDomain(k)));
}

/** User turns from the domain's first slot to the end of the dialogue, and its final slots. */
function domainSegment(states: DialogueState[], domain: string) {
  const has = (s: DialogueState) => Object.keys(s).some((k) => slotDomain(k) === domain);
  const start = states.findIndex(has);
  if (start < 0) return undefined;
  const seg = states.slice(start);
  const finalSlots = Object.keys(seg[seg.length - 1]!).filter((k) => slotDomain(k) === domain);
  return { states: seg, finalSlots };
}

/** Which slots the user reveals in each of its turns within one domain. */
export interface DomainRevealPlan {
  domain: string;
  /** turns[k] = slots first revealed at the domain's (k+1)-th user turn. */
  turns: string[][];
}

export interface RevealPlan {
  /** The first user turn is a greeting that reveals nothing. */
  greeting: boolean;
  domains: DomainRevealPlan[];
}

/**
 * Samples a reveal plan for a goal: slot s appears at position k with the conditional
 * probability (P_k − P_{k−1}) / (1 − P_{k−1}); everything left appears at position
 * REVEAL_POSITIONS+1. Turns where nothing new is revealed are kept (the user asks, books, …)
 * except trailing ones. Same rng state → same plan.
 */
export function sampleRevealPlan(goal: Goal, stats: RevealStats, rng: Rng): RevealPlan {
  const greeting = rng.next() < stats.greetingFirstTurn;
  const domains = goal.domains.map((g) => {
    const slots = [...Object.keys(g.constraints), ...Object.keys(g.book)];
    const turns: string[][] = Array.from({ length: REVEAL_POSITIONS + 1 }, () => []);
    for (const slot of slots) turns[revealPosition(stats.byPosition[slot], rng)]!.push(slot);
    while (turns.length > 1 && turns[turns.length - 1]!.length === 0) turns.pop();
    // A domain opens with at least one constraint, as real users do.
    if (turns[0]!.length === 0 && slots.length > 0) {
      const first = turns.findIndex((t) => t.length > 0);
      turns[0]!.push(turns[first]!.shift()!);
      while (turns.length > 1 && turns[turns.length - 1]!.length === 0) turns.pop();
    }
    return { domain: g.domain, turns };
  });
  return { greeting, domains };
}

function revealPosition(probs: number[] | undefined, rng: Rng): number {
  if (!probs) return 0;
  let prev = 0;
  for (let k = 0; k < REVEAL_POSITIONS; k++) {
    const p = probs[k] ?? 1;
    const hazard = prev >= 1 ? 1 : Math.max(0, (p - prev) / (1 - prev));
    if (rng.next() < hazard) return k;
    prev = Math.max(prev, p);
  }
  return REVEAL_POSITIONS;
}
