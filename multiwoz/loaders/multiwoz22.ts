/**
 * MultiWOZ 2.2 schema-guided layout: `dialogues_NNN.json` files, each a JSON array of
 * `{ dialogue_id, services, turns: [{ speaker, utterance, frames: [{ service, state }] }] }`.
 * User frames carry the cumulative state per service (`slot_values` lists acceptable
 * surface forms), the active intent and the requested slots; system frames carry none.
 */
import { z } from 'zod';
import { canonicalSlot } from '../slots';
import { SPEAKER, type Dialogue, type DialogueState, type Turn } from '../types';
import { DataFormatError, dialogueId, setSlot, zodDetail } from './common';

const Frame = z.object({
  service: z.string(),
  state: z
    .object({
      active_intent: z.string(),
      requested_slots: z.array(z.string()),
      slot_values: z.record(z.string(), z.array(z.string())),
    })
    .optional(),
});
const RawTurn = z.object({
  speaker: z.enum([SPEAKER.USER, SPEAKER.SYSTEM]),
  utterance: z.string(),
  frames: z.array(Frame),
});
const RawDialogue = z.object({
  dialogue_id: z.string().min(1),
  services: z.array(z.string()),
  turns: z.array(RawTurn).min(1),
});

function userTurn(raw: z.infer<typeof RawTurn>): Turn {
  const state: DialogueState = {};
  const activeIntents: Record<string, string> = {};
  const requested = new Set<string>();
  for (const frame of raw.frames) {
    if (!frame.state) continue;
    for (const [slot, values] of Object.entries(frame.state.slot_values)) setSlot(state, slot, values);
    // "NONE" is 2.2's spelling for "no active intent in this service".
    if (frame.state.active_intent !== 'NONE') activeIntents[frame.service] = frame.state.active_intent;
    for (const slot of frame.state.requested_slots) requested.add(canonicalSlot(slot));
  }
  return {
    speaker: SPEAKER.USER,
    utterance: raw.utterance,
    state,
    activeIntents,
    requestedSlots: [...requested],
  };
}

/** Dialogues of one parsed 2.2 dialogues file, in file order. */
export function parseMultiwoz22(data: unknown, file: string): Dialogue[] {
  if (!Array.isArray(data)) throw new DataFormatError(file, 'top level', 'expected an array of dialogues');
  return data.map((value: unknown, index) => {
    const parsed = RawDialogue.safeParse(value);
    const idHint = (value as { dialogue_id?: unknown } | null)?.dialogue_id;
    const where = `dialogue ${typeof idHint === 'string' ? idHint : `#${index}`}`;
    if (!parsed.success) throw new DataFormatError(file, where, zodDetail(parsed.error));
    const raw = parsed.data;
    const turns = raw.turns.map((t, i) => {
      const expected = i % 2 === 0 ? SPEAKER.USER : SPEAKER.SYSTEM;
      if (t.speaker !== expected)
        throw new DataFormatError(file, where, `turns.${i}.speaker is ${t.speaker}, expected ${expected}`);
      return expected === SPEAKER.USER ? userTurn(t) : { speaker: SPEAKER.SYSTEM, utterance: t.utterance };
    });
    return { id: dialogueId(raw.dialogue_id), services: raw.services, turns };
  });
}
