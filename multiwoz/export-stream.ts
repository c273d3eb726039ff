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

async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
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
  const data = createWriteStream(dataJson);

  const flush = async () => {
    if (!chunk.length) return;
    const name = `dialogues_${String(++chunks).padStart(3, '0')}.json`;
    const file = path.join(dir, name);
    await writeFile(file, `${JSON.stringify(toMultiwoz22(chunk), null, 2)}\n`);
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
      await finished(data);
      const schema = path.join(root, 'schema.json');
      await copyFile(path.join(multiwozDir(), '2.2/schema.json'), schema);
      const lists = ['testListFile.json', 'valListFile.json'].map((f) => path.join(outDir, f));
      for (const f of lists) await writeFile(f, '');
      return [...files, schema, dataJson, ...lists];
    },
  };
}
