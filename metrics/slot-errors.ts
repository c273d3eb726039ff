/**
 * Where predictions go wrong, per slot, under one convention: for every scored user turn and
 * tracked slot, a prediction is
 *
 * - `missed`: the gold has the slot, the prediction does not;
 * - `extra`: the prediction has the slot, the gold does not;
 * - `wrong`: both have it and the predicted value is not acceptable for the gold.
 *
 * Counts are per turn, like JGA: since states are cumulative, one error that is never fixed
 * counts again on every later turn of the dialogue. The same turns as `score` are used
 * (dialogues without a tracked domain skipped, missing predictions as empty states).
 */
import { TRACKED_SLOTS } from '../multiwoz/slots';
import type { Dialogue } from '../multiwoz/types';
import { CONVENTIONS, type Convention } from './conventions';
import type { Prediction } from './predictions';
import { dialogueDomains } from './score';

export type SlotErrorKind = 'missed' | 'extra' | 'wrong';

export interface SlotErrorExample {
  kind: SlotErrorKind;
  dialogueId: string;
  /** 0-based user turn. */
  turn: number;
  /** Acceptable gold values (normalised by the convention); absent for `extra`. */
  gold?: string[];
  /** The predicted value (normalised); absent for `missed`. */
  pred?: string;
}

export interface SlotErrors {
  slot: string;
  missed: number;
  extra: number;
  wrong: number;
  total: number;
  /** The first few examples of each kind, in dialogue order. */
  examples: SlotErrorExample[];
}

/** Per-slot error counts, most errors first; slots without errors are left out. */
export function slotErrors(
  convention: Convention,
  gold: readonly Dialogue[],
  predictions: readonly Prediction[],
  examplesPerKind = 2,
): SlotErrors[] {
  const rules = CONVENTIONS[convention];
  const byTurn = new Map(predictions.map((p) => [`${p.dialogueId}\u0000${p.turn}`, p]));
  const out = new Map<string, SlotErrors>();
  const entry = (slot: string) => {
    let e = out.get(slot);
    if (!e) out.set(slot, (e = { slot, missed: 0, extra: 0, wrong: 0, total: 0, examples: [] }));
    return e;
  };
  for (const d of gold) {
    if (dialogueDomains(d).size === 0) continue;
    let turn = 0;
    for (const t of d.turns) {
      if (t.speaker !== 'USER') continue;
      const index = turn++;
      const g = rules.gold(t.state ?? {});
      const p = rules.pred(byTurn.get(`${d.id}\u0000${index}`)?.state ?? {});
      for (const slot of TRACKED_SLOTS) {
        const want = g.get(slot);
        const got = p.get(slot);
        const kind: SlotErrorKind | undefined =
          want === undefined
            ? got === undefined
              ? undefined
              : 'extra'
            : got === undefined
              ? 'missed'
              : want.has(got)
                ? undefined
                : 'wrong';
        if (!kind) continue;
        const e = entry(slot);
        e[kind]++;
        e.total++;
        if (e.examples.filter((x) => x.kind === kind).length < examplesPerKind)
          e.examples.push({
            kind,
            dialogueId: d.id,
            turn: index,
            ...(want ? { gold: [...want] } : {}),
            ...(got !== undefined ? { pred: got } : {}),
          });
      }
    }
  }
  return [...out.values()].sort((a, b) => b.total - a.total || a.slot.localeCompare(b.slot));
}

/** One line per slot: `hotel-area  missed 3, extra 5, wrong 1  e.g. extra "north" (PMUL1, turn 2)`. */
export function formatSlotErrors(errors: readonly SlotErrors[], top = 10): string[] {
  return errors.slice(0, top).map((e) => {
    const eg = e.examples
      .slice(0, 3)
      .map((x) => {
        const what =
          x.kind === 'missed'
            ? `missed "${x.gold?.[0] ?? ''}"`
            : x.kind === 'extra'
              ? `extra "${x.pred ?? ''}"`
              : `"${x.pred ?? ''}" for "${x.gold?.[0] ?? ''}"`;
        return `${what} (${x.dialogueId} turn ${x.turn + 1})`;
      })
      .join('; ');
    return `  ${e.slot.padEnd(22)} missed ${e.missed}, extra ${e.extra}, wrong ${e.wrong}${eg ? `  e.g. ${eg}` : ''}`;
  });
}
