/**
 * DST-STAR TSV layout (smartyfh/DST-STAR `mwz2.1/{train,dev,test}.tsv`): a header line
 * `# Dialogue ID, Turn Index, Last Turn, System Response, User Utterance, <30 slots>` and
 * one row per user turn holding the full cumulative state. The system response of row t
 * is the system turn *before* user turn t (empty on row 0); the closing system turn of
 * each dialogue is not in the file. Text is lower-cased and tokenised by its authors.
 */
import { canonicalSlot } from '../slots';
import { SPEAKER, type Dialogue, type DialogueState, type Turn } from '../types';
import { DataFormatError, dialogueId, domainsInOrder, setSlot } from './common';

const FIXED = ['# Dialogue ID', 'Turn Index', 'Last Turn', 'System Response', 'User Utterance'];

// STAR's authors recoded some values (see their `ontology-modified.json`); undo it so the
// values match the other layouts.
const RECODED: Record<string, Record<string, string>> = {
  'hotel-parking': { true: 'yes', false: 'no' },
  'hotel-internet': { true: 'yes', false: 'no' },
  'hotel-type': { true: 'hotel', false: 'guest house' },
};

/** Undo STAR's value recoding for one canonical slot. */
export function unrecodeStarValue(slot: string, value: string): string {
  if (value === 'do not care') return 'dontcare';
  return RECODED[slot]?.[value] ?? value;
}

/** Dialogues of one STAR TSV file, in file order. */
export function parseStarTsv(text: string, file: string): Dialogue[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split('\t');
  // The header ends with a stray tab; rows do not.
  while (header.length && header[header.length - 1] === '') header.pop();
  if (FIXED.some((name, i) => header[i] !== name)) {
    throw new DataFormatError(
      file,
      'line 1',
      `not a DST-STAR header (expected "${FIXED.join('", "')}", then slots)`,
    );
  }
  const slots = header.slice(FIXED.length).map(canonicalSlot);
  const out: Dialogue[] = [];
  const seen = new Set<string>();
  let current: Dialogue | undefined;
  let userTurns = 0;
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line === '') continue;
    const where = `line ${n + 1}`;
    const cols = line.split('\t');
    if (cols.length !== header.length) {
      throw new DataFormatError(
        file,
        where,
        `expected ${header.length} tab-separated columns, got ${cols.length}`,
      );
    }
    const id = dialogueId(cols[0]!);
    const index = Number(cols[1]);
    if (!current || current.id !== id) {
      if (seen.has(id))
        throw new DataFormatError(
          file,
          `${where} (dialogue ${id})`,
          'rows of this dialogue are not contiguous',
        );
      seen.add(id);
      current = { id, services: [], turns: [] };
      out.push(current);
      userTurns = 0;
    }
    if (index !== userTurns) {
      throw new DataFormatError(
        file,
        `${where} (dialogue ${id})`,
        `turn index "${cols[1]}", expected ${userTurns}`,
      );
    }
    userTurns++;
    const state: DialogueState = {};
    slots.forEach((slot, i) => {
      const raw = cols[FIXED.length + i]!;
      setSlot(state, slot, [unrecodeStarValue(slot, raw)]);
    });
    if (index > 0) current.turns.push({ speaker: SPEAKER.SYSTEM, utterance: cols[3]! });
    current.turns.push({ speaker: SPEAKER.USER, utterance: cols[4]!, state } satisfies Turn);
  }
  for (const d of out) d.services = domainsInOrder(d.turns);
  return out;
}
