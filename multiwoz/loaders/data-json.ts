/**
 * MultiWOZ 2.1 / 2.4 `data.json` layout: `{ "PMUL0001.json": { goal, log: [...] } }`.
 * Even log entries are user turns; odd ones are system turns whose `metadata` holds the
 * belief state per domain (`semi` + `book`), so the state after user turn i is the
 * metadata of log[2i+1]. The ConvLab split files (`test.json`, `val.json`) use the same
 * layout with ids lacking the `.json` suffix.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { SPEAKER, type Dialogue, type DialogueState, type Turn } from '../types';
import { DataFormatError, dialogueId, domainsInOrder, setSlot, zodDetail } from './common';

const DomainMeta = z.object({
  semi: z.record(z.string(), z.string()).optional(),
  // `booked` lists the reservations made so far; it is not part of the user's state.
  book: z
    .object({ booked: z.array(z.unknown()).optional() })
    .catchall(z.string())
    .optional(),
});
const LogEntry = z.object({
  text: z.string(),
  metadata: z.record(z.string(), DomainMeta).optional(),
});
const RawDialogue = z.object({ goal: z.unknown().optional(), log: z.array(LogEntry).min(2) });
type RawDialogue = z.infer<typeof RawDialogue>;

function stateFrom(metadata: Record<string, z.infer<typeof DomainMeta>>): DialogueState {
  const state: DialogueState = {};
  for (const [domain, meta] of Object.entries(metadata)) {
    for (const [slot, value] of Object.entries(meta.semi ?? {})) setSlot(state, `${domain}-${slot}`, [value]);
    for (const [slot, value] of Object.entries(meta.book ?? {})) {
      if (typeof value === 'string') setSlot(state, `${domain}-book${slot}`, [value]);
    }
  }
  return state;
}

function toDialogue(id: string, raw: RawDialogue, file: string): Dialogue {
  if (raw.log.length % 2 !== 0) {
    throw new DataFormatError(
      file,
      `dialogue ${id}`,
      `log has ${raw.log.length} entries; expected user/system pairs`,
    );
  }
  const turns: Turn[] = [];
  for (let i = 0; i < raw.log.length; i += 2) {
    const user = raw.log[i]!;
    const system = raw.log[i + 1]!;
    // An empty system metadata would silently turn into an empty gold state.
    if (!system.metadata || Object.keys(system.metadata).length === 0) {
      throw new DataFormatError(
        file,
        `dialogue ${id}`,
        `log[${i + 1}].metadata is empty; no state for user turn ${i / 2}`,
      );
    }
    turns.push({ speaker: SPEAKER.USER, utterance: user.text, state: stateFrom(system.metadata) });
    turns.push({ speaker: SPEAKER.SYSTEM, utterance: system.text });
  }
  return { id, services: domainsInOrder(turns), turns, goal: raw.goal };
}

/**
 * Dialogues of a parsed `data.json`-layout object, in file order.
 * @param ids only these dialogue ids (without `.json`); every id must be present.
 */
export function parseDataJson(data: unknown, file: string, ids?: ReadonlySet<string>): Dialogue[] {
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new DataFormatError(file, 'top level', 'expected an object of dialogues keyed by id');
  }
  const out: Dialogue[] = [];
  for (const [key, value] of Object.entries(data)) {
    const id = dialogueId(key);
    if (ids && !ids.has(id)) continue;
    const parsed = RawDialogue.safeParse(value);
    if (!parsed.success) throw new DataFormatError(file, `dialogue ${id}`, zodDetail(parsed.error));
    out.push(toDialogue(id, parsed.data, file));
  }
  if (ids && out.length !== ids.size) {
    const have = new Set(out.map((d) => d.id));
    const missing = [...ids].filter((id) => !have.has(id));
    throw new DataFormatError(
      file,
      `dialogue ${missing[0]}`,
      `listed in the split file but missing (${missing.length} missing)`,
    );
  }
  return out;
}

/** Ids of an official split list (`testListFile`, `valListFile.json`): one per line, `.json` dropped. */
export function parseSplitList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map(dialogueId);
}

/** Read a split list file from disk; see `parseSplitList`. */
export async function loadSplitList(file: string): Promise<string[]> {
  return parseSplitList(await readFile(file, 'utf8'));
}
