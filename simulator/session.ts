/**
 * The state of one dialogue attempt while it is being built. Plain JSON (no classes, no
 * Maps), so it can be heartbeated or stored after every LLM call and a retry continues from
 * the exact step it stopped at.
 */
import type { Echo } from './echo';
import type { RoleProblem } from './roles';
import type { TrackedDomain } from '../multiwoz/types';
import type { Goal } from './goal-types';
import type { RevealPlan } from './reveal';
import type { CheckFailure, SystemAction, UsageTotals, UserIntent } from './types';

/** The next LLM call of a session. */
export const STEP = {
  USER: 'user',
  /** The user turn once more, after an answer that only repeated (simulator/echo.ts). */
  USER_RETRY: 'user_retry',
  /** The system turn once more, after an answer in the visitor's voice or a repeat (roles.ts). */
  SYSTEM_RETRY: 'system_retry',
  PARAPHRASE: 'paraphrase',
  LABEL: 'label',
  SYSTEM: 'system',
  DONE: 'done',
} as const;
export type Step = (typeof STEP)[keyof typeof STEP];

export interface SessionUserTurn {
  speaker: 'USER';
  utterance: string;
  intent: UserIntent;
  domain?: TrackedDomain;
  /** Checked cumulative state after this turn. */
  state: Record<string, string>;
}

export interface SessionSystemTurn {
  speaker: 'SYSTEM';
  utterance: string;
  action: SystemAction;
  entity?: string;
  /** With `request`: the slot the agent asked for (the user answers it next, when in the goal). */
  slot?: string;
  /** Properties (address, phone, …) of the offered entity whose values this turn said. */
  told?: string[];
}

export type SessionTurn = SessionUserTurn | SessionSystemTurn;

/** Progress in one goal domain. */
export interface DomainProgress {
  domain: TrackedDomain;
  /** User turns spent in this domain. */
  userTurns: number;
  /** Index of the next reveal position of the plan. */
  position: number;
  /** Slots the plan revealed that the label has not confirmed yet (said again next turn). */
  carry: string[];
  /** Entity the system offered (name or train id), still matching the constraints. */
  entity?: string;
  booked: boolean;
  requested: boolean;
  /** The system found nothing for the `from` value of the planned change. */
  noMatchSeen: boolean;
  changed: boolean;
  /** Requested properties the agent has already said (the user does not ask for them again). */
  told?: string[];
}

/** The user move being made, fixed before the user LLM call so a retry repeats nothing. */
export interface PendingUserMove {
  intent: UserIntent;
  domainIndex: number;
  reveal: Record<string, string>;
  change?: { slot: string; from: string; to: string };
  requests?: string[];
  /** Reveal-plan position this move uses up, if any. */
  position?: number;
  utterance?: string;
  /** Set when `utterance` only repeated a turn; the retry step asks again. */
  echo?: Echo;
  /** Set when `utterance` failed a role check (roles.ts); the retry step asks again. */
  problem?: RoleProblem;
}

/** A system answer that failed a role check, kept for its one retry (`STEP.SYSTEM_RETRY`). */
export interface PendingSystemAnswer {
  answer: { action: string; entity: string | null; slot: string | null; utterance: string };
  problem: RoleProblem;
  /** The booking reference the first try was given: the retry must give the same one. */
  reference?: string;
}

export interface Session {
  version: 1;
  goalIndex: number;
  attempt: number;
  goal: Goal;
  plan: RevealPlan;
  persona: string;
  /** Rng state (see simulator/rng.ts); advanced by every random choice. */
  rng: number;
  next: Step;
  domainIndex: number;
  domains: DomainProgress[];
  /** Slots revealed so far, across domains. */
  revealed: string[];
  turns: SessionTurn[];
  pending?: PendingUserMove;
  pendingSystem?: PendingSystemAnswer;
  failures: CheckFailure[];
  usage: UsageTotals;
  /** Set when the attempt ended: accepted, or the rejection reason. */
  result?: { accepted: boolean; reason?: CheckFailure['reason'] };
}

export const emptyUsage = (): UsageTotals => ({ calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 });

export function userTurns(s: Session): SessionUserTurn[] {
  return s.turns.filter((t): t is SessionUserTurn => t.speaker === 'USER');
}

/** Checked state after the last user turn (empty before the first). */
export function currentState(s: Session): Record<string, string> {
  const users = userTurns(s);
  return { ...(users[users.length - 1]?.state ?? {}) };
}
