/** The streaming export writes exactly what `writeExport` writes (`multiwoz/export-stream.ts`). */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeExport } from '../../multiwoz/export';
import { openExportStream } from '../../multiwoz/export-stream';
import { loadDataset } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mwz-stream-'));

function files(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = path.join(rel, name);
      if (statSync(path.join(root, r)).isDirectory()) walk(r);
      else out[r] = readFileSync(path.join(root, r), 'utf8');
    }
  };
  walk('');
  return out;
}

test.each([0, 1, 230])('%i dialogues: byte-for-byte the files of writeExport', async (n) => {
  const all = await loadDataset({
    dataset: 'multiwoz21',
    source: path.join(multiwozDir(), '2.1/test.json.zip'),
  });
  const ds = all.slice(0, n);
  const [ref, streamed] = [path.join(dir, `ref${n}`), path.join(dir, `s${n}`)];
  await writeExport({ dialogues: ds, outDir: ref });
  const s = await openExportStream(streamed);
  for (const d of ds) await s.add(d);
  const written = await s.close();
  if (n === 0) {
    // writeExport writes nothing into the 2.2 folder for no dialogues; the stream leaves it empty too
    expect(files(streamed)['data.json']).toBe('{}\n');
    expect(written.filter((f) => /dialogues_\d+/.test(f))).toEqual([]);
  } else expect(files(streamed)).toEqual(files(ref));
});
