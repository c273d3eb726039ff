/**
 * Prediction files: JSON lines of
 * `{"dialogue_id": "PMUL4648", "turn": 0, "state": {"restaurant-name": "nusha"}}`,
 * where `turn` is the 0-based index of the user turn. Ids may carry `.json`; slot names may
 * be `hotel-book day` or `hotel-bookday`; a value may be a string or a list (first wins).
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { z } from 'zod';
import { dialogueId } from '../multiwoz/loaders/common';
import { canonicalSlot } from '../multiwoz/slots';

export interface Prediction {
  dialogueId: string;
  /** 0-based index of the user turn. */
  turn: number;
  /** Canonical slot → predicted value. */
  state: Record<string, string>;
}

const Line = z.object({
  dialogue_id: z.string().min(1),
  turn: z.number().int().min(0),
  state: z.record(z.string(), z.union([z.string(), z.array(z.string())]).nullable()),
});

/** Error naming the file, the line and what is wrong with it. */
export class PredictionFormatError extends Error {
  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'PredictionFormatError';
  }
}

function normaliseState(raw: z.infer<typeof Line>['state']): Record<string, string> {
  const state: Record<string, string> = {};
  for (const [slot, value] of Object.entries(raw)) {
    const v = Array.isArray(value) ? value[0] : value;
    if (v !== undefined && v !== null && v.trim() !== '') state[canonicalSlot(slot)] = v;
  }
  return state;
}

/** Parses prediction lines; blank lines are skipped, the first bad line throws. */
export function parsePredictions(text: string, file = 'predictions'): Prediction[] {
  const out: Prediction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim();
    if (!line) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new PredictionFormatError(file, i + 1, `not JSON: ${(e as Error).message}`);
    }
    const r = Line.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue?.path.join('.') || 'line';
      throw new PredictionFormatError(file, i + 1, `${where}: ${issue?.message ?? 'invalid'}`);
    }
    out.push({
      dialogueId: dialogueId(r.data.dialogue_id),
      turn: r.data.turn,
      state: normaliseState(r.data.state),
    });
  }
  return out;
}

/** Reads a JSON-lines prediction file. */
export async function readPredictions(file: string): Promise<Prediction[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(
      `${file}: cannot read predictions: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return parsePredictions(text, file);
}

/** One prediction as a JSON line (the format `readPredictions` reads). */
export function predictionLine(p: Prediction): string {
  return JSON.stringify({ dialogue_id: p.dialogueId, turn: p.turn, state: p.state });
}

/** Writes predictions as JSON lines. */
export async function writePredictions(file: string, predictions: Iterable<Prediction>): Promise<void> {
  const out = createWriteStream(file);
  for (const p of predictions) out.write(predictionLine(p) + '\n');
  out.end();
  await finished(out);
}
