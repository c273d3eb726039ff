import { z } from 'zod';
import { canonicalSlot, slotDomain } from '../slots';
import type { DialogueState, Split, Turn } from '../types';

/**
 * A source file that does not have the expected shape. The message names the file and
 * the first bad record (dialogue id, record index or line number) so users can fix or
 * report the exact spot.
 */
export class DataFormatError extends Error {
  constructor(
    readonly file: string,
    readonly record: string,
    readonly detail: string,
  ) {
    super(`${file}: ${record}: ${detail}`);
    this.name = 'DataFormatError';
  }
}

/** First zod issue as `path: message`, short enough for an error line. */
export function zodDetail(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid record';
  const where = issue.path.length ? issue.path.map(String).join('.') : '(record)';
  return `${where}: ${issue.message}`;
}

// Where a dialogue begins in each layout's text: a 2.2 `dialogue_id`, an IC-DST record `ID`,
// a data.json key whose object starts with `goal` or `log`.
const DIALOGUE_START = /"(?:dialogue_id|ID)"\s*:\s*"([^"]+)"|"([^"]+)"\s*:\s*\{\s*"(?:goal|log)"/g;

/** The dialogue that was being read at `pos`: the last one begun before it. */
function dialogueAt(text: string, pos: number): string | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(DIALOGUE_START)) {
    if (m.index > pos) break;
    last = m[1] ?? m[2];
  }
  return last && dialogueId(last);
}

/**
 * Parse JSON text, turning a syntax error into a `DataFormatError` naming the file and the
 * dialogue it broke in (a file cut short mid-dialogue names the one it was cut in), so the
 * user knows which download or edit to redo.
 */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    // V8 gives `at position N` for a bad token, nothing for text that ends too early.
    const at = /at position (\d+)/.exec(message);
    const id = dialogueAt(text, at ? Number(at[1]) : text.length);
    if (!id) throw new DataFormatError(file, 'JSON', message);
    const cut =
      !at || /end of JSON|Unterminated/i.test(message) ? ' (the file ends inside it: cut short?)' : '';
    throw new DataFormatError(file, `dialogue ${id}`, `invalid JSON${cut}: ${message}`);
  }
}

// The spellings MultiWOZ layouts use for "this slot is empty".
const ABSENT = new Set(['', 'none', 'not mentioned']);

/** True when a raw value means "slot not filled" (`""`, `none`, `not mentioned`). */
export function isAbsentValue(value: string): boolean {
  return ABSENT.has(value.trim().toLowerCase());
}

/** Dialogue ids appear as `PMUL0001.json` in some files and `PMUL0001` in others. */
export function dialogueId(raw: string): string {
  const id = raw.trim();
  return id.endsWith('.json') ? id.slice(0, -5) : id;
}

/** Set `domain-slot` (any spelling) to `values` minus absent ones; no-op when none remain. */
export function setSlot(state: DialogueState, slot: string, values: readonly string[]): void {
  const kept = values.filter((v) => !isAbsentValue(v));
  if (kept.length) state[canonicalSlot(slot)] = kept;
}

/** Domains in the order they first appear in the user states. */
export function domainsInOrder(turns: readonly Turn[]): string[] {
  const seen = new Set<string>();
  for (const turn of turns) for (const slot of Object.keys(turn.state ?? {})) seen.add(slotDomain(slot));
  return [...seen];
}

/** `val` is the official file name for the dev split. */
export function splitFromName(name: string): Split | undefined {
  const m = /(?:^|[^a-z])(train|val|dev|test)(?:[^a-z]|$)/i.exec(name);
  if (!m?.[1]) return undefined;
  const s = m[1].toLowerCase();
  return s === 'val' ? 'dev' : (s as Split);
}
