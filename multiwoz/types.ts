/**
 * The one in-memory model every MultiWOZ layout is loaded into.
 *
 * Slot keys are canonical `domain-slot` names in the MultiWOZ 2.2 schema spelling
 * (lower case, no spaces: `hotel-bookday`, `train-leaveat`); see `canonicalSlot`.
 * A state maps each filled slot to its acceptable surface forms: one value for the
 * 2.1/2.4 layouts, possibly several for 2.2 (`["centre", "center"]`).
 */

export const SPEAKER = { USER: 'USER', SYSTEM: 'SYSTEM' } as const;
export type Speaker = (typeof SPEAKER)[keyof typeof SPEAKER];

/** Dataset identifiers accepted by loaders, `import --dataset` and the database. */
export const DATASET = {
  MULTIWOZ21: 'multiwoz21',
  MULTIWOZ22: 'multiwoz22',
  MULTIWOZ24: 'multiwoz24',
  GENERATED: 'generated',
} as const;
export type Dataset = (typeof DATASET)[keyof typeof DATASET];

export const SPLIT = { TRAIN: 'train', DEV: 'dev', TEST: 'test' } as const;
export type Split = (typeof SPLIT)[keyof typeof SPLIT];

/** Cumulative dialogue state: canonical slot → acceptable values (first is preferred). */
export type DialogueState = Record<string, string[]>;

export interface Turn {
  speaker: Speaker;
  utterance: string;
  /** Cumulative state after this turn; present on user turns only. */
  state?: DialogueState;
  /** 2.2 frames metadata, when the source has it (service → intent). */
  activeIntents?: Record<string, string>;
  /** 2.2 frames metadata: slots the user requested in this turn. */
  requestedSlots?: string[];
}

export interface Dialogue {
  /** Dialogue id without a `.json` suffix, e.g. `PMUL4648`. */
  id: string;
  /** Domains (services) the dialogue touches, in order of appearance when known. */
  services: string[];
  /** Alternating turns, starting with a user turn. */
  turns: Turn[];
  /** The user goal when the source carries one (2.1/2.4 `goal`). */
  goal?: unknown;
}

/** The five domains tracked in the standard DST set-up. */
export const TRACKED_DOMAINS = ['restaurant', 'hotel', 'attraction', 'train', 'taxi'] as const;
export type TrackedDomain = (typeof TRACKED_DOMAINS)[number];
