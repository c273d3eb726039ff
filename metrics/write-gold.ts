import type { Dialogue } from '../multiwoz/types';
import type { Prediction } from './predictions';

/**
 * The gold states written as predictions (first value of each slot): the "oracle" reference
 * predictor, and a way to produce a prediction file from any MultiWOZ source.
 */
export function goldAsPredictions(gold: readonly Dialogue[]): Prediction[] {
  const out: Prediction[] = [];
  for (const d of gold) {
    let turn = 0;
    for (const t of d.turns) {
      if (t.speaker !== 'USER') continue;
      const state: Record<string, string> = {};
      for (const [slot, values] of Object.entries(t.state ?? {})) if (values[0]) state[slot] = values[0];
      out.push({ dialogueId: d.id, turn: turn++, state });
    }
  }
  return out;
}
