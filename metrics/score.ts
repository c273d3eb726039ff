/**
 * Scores predicted dialogue states against gold under one convention.
 *
 * - JGA: share of scored user turns whose predicted state equals the gold state on all 30
 *   tracked slots (a slot absent on both sides is equal).
 * - Slot accuracy: share of (turn, slot) decisions that are right, over turns × 30 slots.
 * - Slot F1: micro-averaged over filled slots — a predicted slot is a true positive when
 *   its value is acceptable for the gold slot, otherwise a false positive; a gold slot not
 *   predicted right is a false negative. F1 is 1 when both sides are always empty.
 * - Per-domain JGA: over the turns of dialogues whose gold touches the domain, the share
 *   whose slots of that domain are all right.
 *
 * Dialogues with no tracked domain in any gold state or in their services are skipped.
 * A gold user turn with no prediction counts as an empty prediction and is reported.
 */
import { TRACKED_SLOTS, slotDomain } from '../multiwoz/slots';
import { TRACKED_DOMAINS, type Dialogue, type TrackedDomain } from '../multiwoz/types';
import { CONVENTIONS, type Convention, type GoldSlots, type PredSlots } from './conventions';
import type { Prediction } from './predictions';

export { readPredictions, parsePredictions, type Prediction } from './predictions';

export interface ScoreInput {
  convention: Convention;
  gold: readonly Dialogue[];
  predictions: readonly Prediction[];
}

export interface DomainScore {
  jga: number;
  turns: number;
}

export interface ScoreReport {
  convention: Convention;
  /** Joint goal accuracy, a fraction 0–1. */
  jga: number;
  slotAccuracy: number;
  slotF1: number;
  /** User turns scored. */
  turns: number;
  dialogues: number;
  /** Gold turns with no prediction (scored as empty states). */
  missingPredictions: number;
  /**
   * JGA of a predictor that always answers the empty state, on the same turns: the floor a
   * model must clear before its JGA says it tracks anything (a fraction 0–1).
   */
  emptyStateJga: number;
  /** Prediction lines that match no scored gold turn (ignored). */
  unmatchedPredictions: number;
  /** Later lines for the same (dialogue, turn) replace earlier ones; how many did. */
  duplicatePredictions: number;
  perDomain: Partial<Record<TrackedDomain, DomainScore>>;
}

const TRACKED: ReadonlySet<string> = new Set(TRACKED_DOMAINS);
const N_SLOTS = TRACKED_SLOTS.length;

function key(id: string, turn: number): string {
  return `${id}\u0000${turn}`;
}

function indexPredictions(predictions: readonly Prediction[]) {
  const byTurn = new Map<string, Prediction>();
  let duplicates = 0;
  for (const p of predictions) {
    const k = key(p.dialogueId, p.turn);
    if (byTurn.has(k)) duplicates++;
    byTurn.set(k, p);
  }
  return { byTurn, duplicates };
}

/** Tracked domains a dialogue touches, from its gold states and its services. */
export function dialogueDomains(d: Dialogue): Set<TrackedDomain> {
  const out = new Set<TrackedDomain>();
  for (const s of d.services) if (TRACKED.has(s)) out.add(s as TrackedDomain);
  for (const t of d.turns)
    for (const slot of Object.keys(t.state ?? {})) {
      const dom = slotDomain(slot);
      if (TRACKED.has(dom)) out.add(dom as TrackedDomain);
    }
  return out;
}

interface TurnResult {
  wrongSlots: Set<string>;
  tp: number;
  fp: number;
  fn: number;
}

function compareTurn(gold: GoldSlots, pred: PredSlots): TurnResult {
  const wrongSlots = new Set<string>();
  let tp = 0;
  let fp = 0;
  for (const [slot, value] of pred) {
    if (gold.get(slot)?.has(value)) tp++;
    else {
      fp++;
      wrongSlots.add(slot);
    }
  }
  let fn = 0;
  for (const [slot, values] of gold) {
    const v = pred.get(slot);
    if (v === undefined || !values.has(v)) {
      fn++;
      wrongSlots.add(slot);
    }
  }
  return { wrongSlots, tp, fp, fn };
}

class Tally {
  turns = 0;
  joint = 0;
  wrongSlots = 0;
  tp = 0;
  fp = 0;
  fn = 0;
  domainTurns = new Map<TrackedDomain, number>();
  domainJoint = new Map<TrackedDomain, number>();

  add(r: TurnResult, domains: ReadonlySet<TrackedDomain>): void {
    this.turns++;
    if (r.wrongSlots.size === 0) this.joint++;
    this.wrongSlots += r.wrongSlots.size;
    this.tp += r.tp;
    this.fp += r.fp;
    this.fn += r.fn;
    const wrongDomains = new Set([...r.wrongSlots].map(slotDomain));
    for (const d of domains) {
      this.domainTurns.set(d, (this.domainTurns.get(d) ?? 0) + 1);
      if (!wrongDomains.has(d)) this.domainJoint.set(d, (this.domainJoint.get(d) ?? 0) + 1);
    }
  }

  f1(): number {
    const denom = 2 * this.tp + this.fp + this.fn;
    return denom === 0 ? 1 : (2 * this.tp) / denom;
  }
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** Scores `predictions` against `gold` under `convention`. Pure; no I/O. */
export function score(input: ScoreInput): ScoreReport {
  const rules = CONVENTIONS[input.convention];
  const { byTurn, duplicates } = indexPredictions(input.predictions);
  const tally = new Tally();
  const used = new Set<string>();
  let dialogues = 0;
  let missing = 0;
  let emptyRight = 0;
  const nothing = rules.pred({});
  for (const d of input.gold) {
    const domains = dialogueDomains(d);
    if (domains.size === 0) continue;
    dialogues++;
    let turn = 0;
    for (const t of d.turns) {
      if (t.speaker !== 'USER') continue;
      const k = key(d.id, turn++);
      const p = byTurn.get(k);
      if (p) used.add(k);
      else missing++;
      const gold = rules.gold(t.state ?? {});
      tally.add(compareTurn(gold, rules.pred(p?.state ?? {})), domains);
      if (compareTurn(gold, nothing).wrongSlots.size === 0) emptyRight++;
    }
  }
  const perDomain: ScoreReport['perDomain'] = {};
  for (const dom of TRACKED_DOMAINS) {
    const n = tally.domainTurns.get(dom);
    if (n) perDomain[dom] = { jga: ratio(tally.domainJoint.get(dom) ?? 0, n), turns: n };
  }
  return {
    convention: input.convention,
    jga: ratio(tally.joint, tally.turns),
    slotAccuracy: tally.turns ? 1 - tally.wrongSlots / (tally.turns * N_SLOTS) : 0,
    slotF1: tally.f1(),
    turns: tally.turns,
    dialogues,
    missingPredictions: missing,
    emptyStateJga: ratio(emptyRight, tally.turns),
    unmatchedPredictions: byTurn.size - used.size,
    duplicatePredictions: duplicates,
    perDomain,
  };
}
