/**
 * Training and prediction examples for the DST model (DESIGN.md §4), one per user turn:
 * `{dialogue_id, turn, history, utterance, state}` — the history before the last user
 * utterance, the utterance, and the cumulative state (canonical slot → first value).
 * The Python trainer (`trainer/`) builds the prompt and the JSON target from these lines.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Dialogue } from '../multiwoz/types';
import { isTrackedSlot } from '../multiwoz/slots';

export interface Example {
  dialogue_id: string;
  turn: number;
  history: Array<{ speaker: 'USER' | 'SYSTEM'; text: string }>;
  utterance: string;
  state: Record<string, string>;
}

/** Examples of one dialogue; only the 30 tracked slots are kept in states. */
export function dialogueExamples(d: Dialogue): Example[] {
  const out: Example[] = [];
  const history: Example['history'] = [];
  let turn = 0;
  for (const t of d.turns) {
    if (t.speaker === 'USER') {
      const state: Record<string, string> = {};
      for (const [slot, values] of Object.entries(t.state ?? {}))
        if (values[0] && isTrackedSlot(slot)) state[slot] = values[0];
      out.push({ dialogue_id: d.id, turn: turn++, history: [...history], utterance: t.utterance, state });
    }
    history.push({ speaker: t.speaker, text: t.utterance });
  }
  return out;
}

export interface WrittenFile {
  path: string;
  dialogues: number;
  examples: number;
  /** SHA-256 of the file's bytes. */
  sha256: string;
  bytes: number;
}

/** Writes the examples of `dialogues` as JSON lines and returns their counts and hash. */
export async function writeExamples(file: string, dialogues: Iterable<Dialogue>): Promise<WrittenFile> {
  mkdirSync(path.dirname(file), { recursive: true });
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  let n = 0;
  let examples = 0;
  let bytes = 0;
  for (const d of dialogues) {
    n++;
    for (const e of dialogueExamples(d)) {
      const line = JSON.stringify(e) + '\n';
      hash.update(line);
      bytes += Buffer.byteLength(line);
      examples++;
      if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  }
  out.end();
  await finished(out);
  return { path: file, dialogues: n, examples, sha256: hash.digest('hex'), bytes };
}
