/**
 * IC-DST per-turn layout (`*.icdst.json`): a JSON array with one record per user turn,
 * `{ ID, turn_id, domains, dialog: { sys: [...], usr: [...] }, slot_values }`. `dialog`
 * is the history up to this turn (`sys[t]` is the system turn before `usr[t]`, `sys[0]`
 * is empty) and `slot_values` the cumulative state. The closing system turn is absent.
 */
import { z } from 'zod';
import { SPEAKER, type Dialogue, type DialogueState } from '../types';
import { DataFormatError, dialogueId, domainsInOrder, setSlot, zodDetail } from './common';

const RawRecord = z.object({
  ID: z.string().min(1),
  turn_id: z.number().int().nonnegative(),
  domains: z.array(z.string()).optional(),
  dialog: z.object({ sys: z.array(z.string()), usr: z.array(z.string()) }),
  slot_values: z.record(z.string(), z.string()),
});

/** Dialogues of a parsed IC-DST record array, grouped by `ID` in order of first appearance. */
export function parseIcdst(data: unknown, file: string): Dialogue[] {
  if (!Array.isArray(data)) throw new DataFormatError(file, 'top level', 'expected an array of turn records');
  const byId = new Map<string, Dialogue>();
  data.forEach((value: unknown, index) => {
    const parsed = RawRecord.safeParse(value);
    const idHint = (value as { ID?: unknown } | null)?.ID;
    const where = `record ${index}${typeof idHint === 'string' ? ` (ID ${idHint})` : ''}`;
    if (!parsed.success) throw new DataFormatError(file, where, zodDetail(parsed.error));
    const rec = parsed.data;
    const id = dialogueId(rec.ID);
    let dialogue = byId.get(id);
    if (!dialogue) {
      dialogue = { id, services: rec.domains ?? [], turns: [] };
      byId.set(id, dialogue);
    }
    const t = rec.turn_id;
    const userTurns = Math.ceil(dialogue.turns.length / 2);
    if (t !== userTurns)
      throw new DataFormatError(
        file,
        where,
        `turn_id ${t}, expected ${userTurns} (records must be in turn order)`,
      );
    const usr = rec.dialog.usr[t];
    const sys = rec.dialog.sys[t];
    if (usr === undefined || sys === undefined) {
      throw new DataFormatError(file, where, `dialog history shorter than turn_id ${t} + 1`);
    }
    const state: DialogueState = {};
    for (const [slot, v] of Object.entries(rec.slot_values)) setSlot(state, slot, [v]);
    if (t > 0) dialogue.turns.push({ speaker: SPEAKER.SYSTEM, utterance: sys });
    dialogue.turns.push({ speaker: SPEAKER.USER, utterance: usr, state });
  });
  const out = [...byId.values()];
  for (const d of out) if (!d.services.length) d.services = domainsInOrder(d.turns);
  return out;
}
