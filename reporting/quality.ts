/**
 * Data quality of generated dialogues, compared with the real training split (issue 9 §2).
 * Pure: dialogues and counts in, a `QualityReport` out; `quality-load.ts` reads the inputs from
 * Postgres or an exported folder, `quality-format.ts` prints them.
 *
 * Definitions (the same code runs on both sides, so the numbers compare):
 * - tokens: lower-cased words and punctuation marks (`/[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]/`);
 * - distinct-n: distinct n-grams / all n-grams over the user turns; it grows smaller with more
 *   text, so the real side is measured on as many user turns as the generated side has (the
 *   first real dialogues until that count);
 * - repeated verbatim: user turns whose lower-cased, space-normalised text occurs in more than
 *   one dialogue;
 * - value coverage: per slot, the share of the reference values (the ontology's possible values
 *   for categorical slots, else the values of the real training states) that appear in the
 *   generated states, compared after TRADE normalisation; "unseen in real" lists generated
 *   values no real training state has;
 * - state changed: user turns whose cumulative state differs from the previous user turn's.
 */
import { normaliseTradeValue } from '../metrics/normalise';
import { dialogueDomains } from '../metrics/score';
import type { Ontology } from '../multiwoz/ontology';
import { TRACKED_SLOTS } from '../multiwoz/slots';
import { TRACKED_DOMAINS, type Dialogue, type DialogueState } from '../multiwoz/types';

export interface QualityInput {
  generated: readonly Dialogue[];
  real: readonly Dialogue[];
  ontology: Pick<Ontology, 'isCategorical' | 'possibleValues'>;
  /** Rejected attempts by reason. */
  rejections?: Record<string, number>;
  /** Corrections the checks made in accepted dialogues, by reason. */
  corrections?: Record<string, number>;
  /** Sample dialogues to render. Default 3. */
  samples?: number;
}

export interface SideCounts {
  dialogues: number;
  turns: number;
  userTurns: number;
  turnsPerDialogue: number;
  domainsPerDialogue: number;
  avgUserTokens: number;
  distinct1: number;
  distinct2: number;
  repeatedUserTurns: number;
  stateChangedShare: number;
}

export interface SlotCoverage {
  slot: string;
  /** Distinct generated values (normalised). */
  generated: number;
  /** Reference values: ontology (categorical) or real training values. */
  reference: number;
  referenceKind: 'ontology' | 'real';
  /** Share of the reference values seen in the generated states. */
  coverage: number;
  /** Generated values never in a real training state (a few examples). */
  unseenInReal: string[];
  unseenInRealCount: number;
}

export interface SampleDialogue {
  id: string;
  turns: Array<{ speaker: 'USER' | 'SYSTEM'; utterance: string; state?: Record<string, string> }>;
}

export interface QualityReport {
  generated: SideCounts;
  /** The real side; language figures on as many user turns as the generated side. */
  real: SideCounts;
  domainCombinations: {
    generated: Array<{ domains: string; dialogues: number; inReal: boolean }>;
    /** Distinct combinations in the real training split. */
    realDistinct: number;
    /** Share of the real combinations that appear among the generated dialogues. */
    realCovered: number;
  };
  slots: SlotCoverage[];
  /** Generated values that no real training state has, over all slots. */
  unseenInRealTotal: number;
  rejections: Record<string, number>;
  corrections: Record<string, number>;
  samples: SampleDialogue[];
}

const TOKEN = /[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]/g;
const tokens = (s: string) => s.toLowerCase().match(TOKEN) ?? [];
const norm = (s: string) => s.toLowerCase().replace(/\s+/g, ' ').trim();
const ratio = (a: number, b: number) => (b ? a / b : 0);

const userTurns = (d: Dialogue) => d.turns.filter((t) => t.speaker === 'USER');

function distinct(texts: readonly string[], n: number): number {
  const all = new Set<string>();
  let total = 0;
  for (const t of texts) {
    const w = tokens(t);
    for (let i = 0; i + n <= w.length; i++) {
      all.add(w.slice(i, i + n).join(' '));
      total++;
    }
  }
  return ratio(all.size, total);
}

function stateKey(s: DialogueState | undefined): string {
  return JSON.stringify(
    Object.entries(s ?? {})
      .filter(([, v]) => v.length)
      .map(([k, v]) => [k, v[0]])
      .sort(),
  );
}

/** The first dialogues holding at least `userTurns` user turns (all when fewer). */
function sameSize(real: readonly Dialogue[], turns: number): Dialogue[] {
  const out: Dialogue[] = [];
  let n = 0;
  for (const d of real) {
    if (n >= turns) break;
    out.push(d);
    n += userTurns(d).length;
  }
  return out;
}

function sideCounts(all: readonly Dialogue[], language: readonly Dialogue[]): SideCounts {
  const users = all.flatMap(userTurns);
  const turns = all.reduce((n, d) => n + d.turns.length, 0);
  let changed = 0;
  for (const d of all) {
    let prev = stateKey({});
    for (const t of userTurns(d)) {
      const k = stateKey(t.state);
      if (k !== prev) changed++;
      prev = k;
    }
  }
  const langTexts = language.flatMap(userTurns).map((t) => t.utterance);
  const where = new Map<string, Set<string>>();
  for (const d of language)
    for (const t of userTurns(d)) {
      const k = norm(t.utterance);
      where.set(k, (where.get(k) ?? new Set()).add(d.id));
    }
  const repeated = language
    .flatMap(userTurns)
    .filter((t) => (where.get(norm(t.utterance))?.size ?? 0) > 1).length;
  return {
    dialogues: all.length,
    turns,
    userTurns: users.length,
    turnsPerDialogue: ratio(turns, all.length),
    domainsPerDialogue: ratio(
      all.reduce((n, d) => n + dialogueDomains(d).size, 0),
      all.length,
    ),
    avgUserTokens: ratio(
      langTexts.reduce((n, t) => n + tokens(t).length, 0),
      langTexts.length,
    ),
    distinct1: distinct(langTexts, 1),
    distinct2: distinct(langTexts, 2),
    repeatedUserTurns: ratio(repeated, langTexts.length),
    stateChangedShare: ratio(changed, users.length),
  };
}

const combo = (d: Dialogue) => TRACKED_DOMAINS.filter((x) => dialogueDomains(d).has(x)).join('+') || '(none)';

function valuesBySlot(dialogues: readonly Dialogue[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const d of dialogues)
    for (const t of userTurns(d))
      for (const [slot, values] of Object.entries(t.state ?? {}))
        for (const v of values) {
          const n = normaliseTradeValue(slot, v);
          if (n) out.set(slot, (out.get(slot) ?? new Set()).add(n));
        }
  return out;
}

function slotCoverage(input: QualityInput): SlotCoverage[] {
  const gen = valuesBySlot(input.generated);
  const real = valuesBySlot(input.real);
  return TRACKED_SLOTS.map((slot) => {
    const g = gen.get(slot) ?? new Set<string>();
    const r = real.get(slot) ?? new Set<string>();
    const categorical = input.ontology.isCategorical(slot);
    const ref = categorical
      ? new Set(input.ontology.possibleValues(slot).map((v) => normaliseTradeValue(slot, v)))
      : r;
    const unseen = [...g].filter((v) => !r.has(v) && v !== 'dontcare');
    return {
      slot,
      generated: g.size,
      reference: ref.size,
      referenceKind: categorical ? ('ontology' as const) : ('real' as const),
      coverage: ratio([...ref].filter((v) => g.has(v)).length, ref.size),
      unseenInReal: unseen.slice(0, 5),
      unseenInRealCount: unseen.length,
    };
  });
}

/** Up to `n` dialogues spread over the set (first, middle, last…), as transcripts. */
function samples(dialogues: readonly Dialogue[], n: number): SampleDialogue[] {
  if (!dialogues.length || n <= 0) return [];
  const picks = new Set<number>();
  for (let i = 0; i < n; i++) picks.add(Math.round((i * (dialogues.length - 1)) / Math.max(1, n - 1)));
  return [...picks].map((i) => {
    const d = dialogues[i]!;
    return {
      id: d.id,
      turns: d.turns.map((t) =>
        t.speaker === 'USER'
          ? {
              speaker: t.speaker,
              utterance: t.utterance,
              state: Object.fromEntries(Object.entries(t.state ?? {}).map(([k, v]) => [k, v.join('|')])),
            }
          : { speaker: t.speaker, utterance: t.utterance },
      ),
    };
  });
}

export function computeQuality(input: QualityInput): QualityReport {
  const gen = input.generated;
  const genUserTurns = gen.reduce((n, d) => n + userTurns(d).length, 0);
  const realCombos = new Set(input.real.map(combo));
  const counts = new Map<string, number>();
  for (const d of gen) counts.set(combo(d), (counts.get(combo(d)) ?? 0) + 1);
  const slots = slotCoverage(input);
  return {
    generated: sideCounts(gen, gen),
    real: sideCounts(input.real, sameSize(input.real, genUserTurns)),
    domainCombinations: {
      generated: [...counts]
        .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
        .map(([domains, dialogues]) => ({ domains, dialogues, inReal: realCombos.has(domains) })),
      realDistinct: realCombos.size,
      realCovered: ratio([...realCombos].filter((c) => counts.has(c)).length, realCombos.size),
    },
    slots,
    unseenInRealTotal: slots.reduce((n, s) => n + s.unseenInRealCount, 0),
    rejections: input.rejections ?? {},
    corrections: input.corrections ?? {},
    samples: samples(gen, input.samples ?? 3),
  };
}
