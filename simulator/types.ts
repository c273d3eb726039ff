/**
 * Shared shapes of the simulator: what each LLM role is asked, what the rule checks report,
 * and the serialisable session a dialogue is built in (so a Temporal activity can heartbeat
 * it after every turn and resume mid-dialogue).
 */
import type { RoleUsageTotals } from './role-usage';
import type { DialogueState, TrackedDomain } from '../multiwoz/types';
import type { Goal } from './goal-types';
import type { RevealPlan } from './reveal';

/** What the user agent is asked to do in its next utterance (DESIGN.md §3.3). */
export const USER_INTENT = {
  GREET: 'greet',
  INFORM: 'inform',
  CHANGE: 'change',
  RECOMMEND: 'recommend',
  REQUEST: 'request',
  BOOK: 'book',
  CLOSE_DOMAIN: 'close_domain',
  END: 'end',
} as const;
export type UserIntent = (typeof USER_INTENT)[keyof typeof USER_INTENT];

/** The system agent's dialogue acts (DESIGN.md §3.4). */
export const SYSTEM_ACTION = {
  REQUEST: 'request',
  INFORM: 'inform',
  RECOMMEND: 'recommend',
  NO_MATCH: 'no_match',
  BOOK: 'book',
  ANSWER: 'answer',
  GREET: 'greet',
  BYE: 'bye',
} as const;
export type SystemAction = (typeof SYSTEM_ACTION)[keyof typeof SYSTEM_ACTION];

/**
 * Reason codes of rule checks and rejections. Checks marked "corrected" fix the label and
 * are counted; the others reject the dialogue attempt (DESIGN.md §3.7).
 */
export const REASON = {
  /** Label names a slot the schema does not have (corrected: dropped). */
  UNKNOWN_SLOT: 'unknown_slot',
  /** Categorical value outside the schema's possible values (corrected: dropped). */
  INVALID_VALUE: 'invalid_value',
  /** Value differs from the planned goal (corrected: goal value). */
  GOAL_MISMATCH: 'goal_mismatch',
  /** Slot labelled before the plan revealed it (corrected: removed). */
  UNREVEALED: 'unrevealed',
  /** Entity name with no close database match (corrected: removed). */
  NAME_NO_MATCH: 'name_no_match',
  /** A slot changed or vanished without the user changing it (corrected: previous value). */
  NOT_CUMULATIVE: 'not_cumulative',
  /**
   * A labelled value the user did not say (nor accept from the system's last turn):
   * removed, and re-planned for the next turn.
   */
  NOT_MENTIONED: 'not_mentioned',
  /** A slot the user was to reveal is missing from the label (re-planned for the next turn). */
  NOT_REVEALED: 'not_revealed',
  /**
   * A slot the user was to reveal is missing from the label although the user's words carry its
   * planned value (`isMentioned`): the labeller missed it (corrected: the planned value added).
   */
  MISSED_LABEL: 'missed_label',
  /** The user turn only repeated its previous turn or the agent's (corrected: asked once more). */
  REPEATED_TURN: 'repeated_turn',
  /** A user turn in the agent's voice (retried once; rejects when the retry does it again). */
  USER_AS_AGENT: 'user_as_agent',
  /** An agent turn in the visitor's voice (retried once; rejects when the retry does it again). */
  AGENT_AS_USER: 'agent_as_user',
  /** A first user turn, not a planned greeting, that says none of its facts (retried once; rejects). */
  EMPTY_TURN: 'empty_turn',
  /** An agent turn that repeats the agent's previous one (retried once; rejects). */
  AGENT_REPEAT: 'agent_repeat',
  /** A user asking for what the agent's last turn just told it (retried once; rejects). */
  ALREADY_ANSWERED: 'already_answered',
  /**
   * An agent turn the LLM failed twice (ungrounded, a repeat, the visitor's voice), written from
   * the plan by code instead (corrected: `templateAnswer`; rejects when the template fails too).
   */
  AGENT_TEMPLATE: 'agent_template',
  /**
   * A user turn the LLM failed twice (empty, the agent's voice, asking again), replaced by a real
   * training visitor turn with the same kinds of facts, values swapped, or a request without
   * facts asked plainly (corrected: `visitorExample` / `plainRequest`, then labelled as any other
   * turn; rejects when there is none).
   */
  USER_EXAMPLE: 'user_example',
  /** A domain did not finish within its turn cap (rejects). */
  DOMAIN_CAP: 'domain_cap_exceeded',
  /** The dialogue has 4 turns or fewer (rejects). */
  TOO_SHORT: 'too_short',
  /** The system agent named an entity that does not exist or does not match (rejects). */
  UNGROUNDED_ENTITY: 'ungrounded_entity',
  /** An LLM answer stayed invalid after one retry (rejects). */
  INVALID_LLM_OUTPUT: 'invalid_llm_output',
  /** Whole dialogue budget of turns used up (rejects). */
  TOO_LONG: 'too_long',
} as const;
export type Reason = (typeof REASON)[keyof typeof REASON];

/** One failed check, as stored with the dialogue. */
export interface CheckFailure {
  reason: Reason;
  /** 0-based index of the user turn. */
  turn: number;
  slot?: string;
  detail: string;
}

/** One line of a dialogue as the roles see it. */
export interface HistoryLine {
  speaker: 'USER' | 'SYSTEM';
  text: string;
}

/** Input of the user agent prompt. */
export interface UserPromptInput {
  persona: string;
  domain: TrackedDomain | undefined;
  intent: UserIntent;
  /** Slot → value the user states now (canonical slots). */
  reveal: Record<string, string>;
  /** For CHANGE: the slot relaxed and its new value. */
  change?: { slot: string; from: string; to: string };
  /** For REQUEST: properties asked about (address, phone, …). */
  requests?: string[];
  history: HistoryLine[];
  /**
   * Transcript lines the prompt shows, the latest ones; the rest is replaced by one line saying
   * so. Unset: the whole dialogue. The checks see the whole dialogue either way.
   */
  historyLines?: number;
  /** Added after the instruction when retrying a turn that only repeated (see echo.ts). */
  note?: string;
  /** A real visitor's turn with the same kinds of facts, values swapped (user-examples.ts). */
  example?: string;
}

/** Input of the system agent prompt: the facts it may use, from the database. */
export interface SystemPromptInput {
  domain: TrackedDomain | undefined;
  /** Actions the code allows now, best first. */
  allowed: SystemAction[];
  /** Constraints the user gave so far in this domain. */
  constraints: Record<string, string>;
  /** Number of database matches for the constraints. */
  matchCount: number;
  /** Up to 5 matching entities with their attributes (names exact as in the database). */
  candidates: Array<Record<string, string>>;
  /** For REQUEST: informable slots the user has not constrained. */
  missingSlots: string[];
  /** For BOOK: the reference the database issued. */
  bookingReference?: string;
  /** For ANSWER: property → value of the chosen entity. */
  answers?: Record<string, string>;
  history: HistoryLine[];
}

/** Input of the paraphraser prompt. */
export interface ParaphrasePromptInput {
  utterance: string;
  /** Values that must survive the rewrite verbatim. */
  keep: string[];
  count: number;
}

/** Input of the state labeller prompt. */
export interface LabelPromptInput {
  /** The dialogue so far, ending with the user turn to label. */
  history: HistoryLine[];
  /** The state after the previous user turn. */
  previous: Record<string, string>;
  /** Slots of the domains in play, with categorical values where the schema has them. */
  slots: Array<{ slot: string; description: string; values?: string[] }>;
}

/** Calls, tokens and cost summed over a dialogue (all attempts). */
export interface UsageTotals {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** The same work per simulator role, with evaluated tokens and milliseconds (`role-usage.ts`). */
  byRole?: RoleUsageTotals;
}

/** A finished attempt at one goal. */
export interface DialogueOutcome {
  accepted: boolean;
  /** Rejection reason (first fatal check) when not accepted. */
  reason?: Reason;
  /** Every failed check, including corrected ones. */
  failures: CheckFailure[];
  /** The dialogue with cumulative checked states on user turns. */
  turns: Array<{
    speaker: 'USER' | 'SYSTEM';
    utterance: string;
    state?: DialogueState;
    /** System turns: the act and the database entity it named (name or train id). */
    action?: SystemAction;
    entity?: string;
  }>;
  services: TrackedDomain[];
  usage: UsageTotals;
}

export type { Goal, RevealPlan };
