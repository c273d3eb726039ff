/**
 * `writeExport`'s two layouts written one dialogue at a time, for runs too large to hold in
 * memory: at most one 2.2 chunk (100 dialogues) is buffered, and `data.json` is streamed
 * entry by entry. The files are byte-for-byte those `writeExport` writes for the same
 * dialogues in the same order (split: none, so the 2.2 folder is `generated/`).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { DIALOGUES_PER_FILE, GENERATED_FOLDER, toDataJson, toMultiwoz22 } from './export';
import { multiwozDir } from './paths';
import type { Dialogue } from './types';

const CHUNK_FILE = /^dialogues_\d+\.json$/;

/** An fs error with the file it happened in (stream write errors name none). */
export function inFile(e: unknown, file: string): unknown {
  if (e && typeof e === 'object' && !('path' in e && e.path)) Object.assign(e, { path: file });
  return e;
}

/** Runs `fn` (writing `file`), naming `file` in its error. */
export async function writingTo<T>(file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw inFile(e, file);
  }
}

/**
 * A write stream of `file` whose failure (a full disk) rejects the next `write` or
 * `finished` with the file named, instead of crashing the process with an unhandled 'error'
 * event or waiting forever for a 'drain' that never comes.
 */
export function openFile(file: string): WriteStream {
  const out = createWriteStream(file);
  out.on('error', (e) => inFile(e, file));
  return out;
}

/** Writes `text`, waiting for the buffer to drain; rejects once the stream has failed. */
export function write(out: WriteStream, text: string): Promise<void> {
  if (out.errored) return Promise.reject(out.errored);
  if (out.write(text)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (e?: Error) => {
      out.off('drain', drained);
      out.off('error', done);
      if (e) reject(e);
      else resolve();
    };
    const drained = () => done();
    out.once('drain', drained);
    out.once('error', done);
  });
}

/** `summary.json` of an `export` (and of each run in a merged folder). */
export interface ExportSummary {
  run: string;
  goals: number;
  done: number;
  accepted: number;
  rejected: number;
  pending: number;
  /** Rejected attempts by reason (a goal can have up to 3). */
  reasons: Record<string, number>;
  /** Failed checks that were corrected, by reason, over accepted dialogues. */
  corrections: Record<string, number>;
  usage: { calls: number; promptTokens: number; completionTokens: number; costUsd: number };
  dialogues: number;
  turns: number;
}

/** A summary of `run` with nothing counted yet. */
export function emptySummary(run: string, goals = 0): ExportSummary {
  return {
    run,
    goals,
    done: 0,
    accepted: 0,
    rejected: 0,
    pending: 0,
    reasons: {},
    corrections: {},
    usage: { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
    dialogues: 0,
    turns: 0,
  };
}

export interface ExportStream {
  add(d: Dialogue): Promise<void>;
  /** Flushes the last chunk and closes `data.json`; returns every file written. */
  close(): Promise<string[]>;
}

/** Opens `outDir/multiwoz22/generated/`, `outDir/data.json` and the list files. */
export async function openExportStream(outDir: string): Promise<ExportStream> {
  const root = path.join(outDir, 'multiwoz22');
  const dir = path.join(root, GENERATED_FOLDER);
  await mkdir(dir, { recursive: true });
  // Chunks left by a larger earlier export would be loaded along with the new ones.
  for (const name of await readdir(dir)) if (CHUNK_FILE.test(name)) await rm(path.join(dir, name));
  const files: string[] = [];
  let chunk: Dialogue[] = [];
  let chunks = 0;
  let entries = 0;
  const dataJson = path.join(outDir, 'data.json');
  const data = openFile(dataJson);

  const flush = async () => {
    if (!chunk.length) return;
    const name = `dialogues_${String(++chunks).padStart(3, '0')}.json`;
    const file = path.join(dir, name);
    await writingTo(file, () => writeFile(file, `${JSON.stringify(toMultiwoz22(chunk), null, 2)}\n`));
    files.push(file);
    chunk = [];
  };

  return {
    async add(d) {
      // `{ "<id>.json": {...} }` as `writeExport` indents it, without the outer braces.
      const one = JSON.stringify(toDataJson([d]), null, 2);
      await write(data, `${entries++ ? ',\n' : '{\n'}${one.slice(2, -2)}`);
      chunk.push(d);
      if (chunk.length === DIALOGUES_PER_FILE) await flush();
    },
    async close() {
      await flush();
      data.end(entries ? '\n}\n' : '{}\n');
      await writingTo(dataJson, () => finished(data));
      const schema = path.join(root, 'schema.json');
      await writingTo(schema, () => copyFile(path.join(multiwozDir(), '2.2/schema.json'), schema));
      const lists = ['testListFile.json', 'valListFile.json'].map((f) => path.join(outDir, f));
      for (const f of lists) await writingTo(f, () => writeFile(f, ''));
      return [...files, schema, dataJson, ...lists];
    },
  };
}
