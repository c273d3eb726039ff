/**
 * `merge`: export folders become one of the same layout. The committed set
 * (`examples/generated/` as its first run left it, `tests/fixtures/export-s21`) is run A; run B is a copy of it under another run id and dialogue
 * prefix, as a second `export` would write it.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDataset } from '../../multiwoz/loaders';
import { mergeExports, type MergedSummary } from '../../multiwoz/merge-exports';

// A single run's export: the committed set as its first run (gen-real100-s21) left it.
const A = path.join(__dirname, '../fixtures/export-s21');
const RUN_A = (JSON.parse(readFileSync(path.join(A, 'summary.json'), 'utf8')) as { run: string }).run;
let tmp: string;

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'merge-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p).map((f) => path.join(n, f)) : [n];
  });
}

/** A copy of A as another run's export: other run id, other dialogue ids, no provenance. */
function runB(keep = Infinity): string {
  const b = path.join(tmp, 'b');
  cpSync(A, b, { recursive: true });
  rmSync(path.join(b, 'provenance.json'));
  for (const f of files(b)) {
    const p = path.join(b, f);
    writeFileSync(p, readFileSync(p, 'utf8').replaceAll('SYN21-', 'SYN99-').replaceAll(RUN_A, 'run-b'));
  }
  if (keep < Infinity) {
    const lines = readFileSync(path.join(b, 'accepted.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(path.join(b, 'accepted.jsonl'), lines.slice(0, keep).join('\n') + '\n');
  }
  return b;
}

const read = (dir: string, f: string) => readFileSync(path.join(dir, f), 'utf8');
const summaryOf = (dir: string) => JSON.parse(read(dir, 'summary.json')) as MergedSummary;

test('one export merged alone gives the same dialogue files, its lines tagged with the run', async () => {
  const out = path.join(tmp, 'out');
  const s = await mergeExports([A], out);
  expect(read(out, 'data.json')).toBe(read(A, 'data.json'));
  for (const f of files(path.join(A, 'multiwoz22')))
    expect(read(out, path.join('multiwoz22', f))).toBe(read(A, path.join('multiwoz22', f)));
  expect(s.runs).toEqual([RUN_A]);
  const first = JSON.parse(read(out, 'accepted.jsonl').split('\n')[0]!) as { run: string; id: string };
  expect(first.run).toBe(RUN_A);
});

test('two runs: dialogues, lines and totals add up; provenance parts are carried by run', async () => {
  const out = path.join(tmp, 'out');
  const b = runB();
  const s = await mergeExports([A, b], out);
  const one = summaryOf(A);
  expect(s.runs).toEqual([RUN_A, 'run-b']);
  expect(s.accepted).toBe(2 * one.accepted);
  expect(s.usage.calls).toBe(2 * one.usage.calls);
  expect(s.reasons.agent_repeat).toBe(2 * (one.reasons.agent_repeat ?? 0));
  const merged = await loadDataset({ source: path.join(out, 'data.json') });
  expect(merged).toHaveLength(2 * one.accepted);
  expect(await loadDataset({ source: path.join(out, 'multiwoz22') })).toHaveLength(2 * one.accepted);
  expect(read(out, 'accepted.jsonl').split('\n').filter(Boolean)).toHaveLength(2 * one.accepted);
  const prov = JSON.parse(read(out, 'provenance.json')) as {
    parts: Array<{ runId: string; accepted: number; revision?: string }>;
  };
  expect(prov.parts.map((p) => [p.runId, p.accepted])).toEqual([
    [RUN_A, one.accepted],
    ['run-b', one.accepted],
  ]);
  expect(prov.parts[0]!.revision).toMatch(/^[0-9a-f]{40}$/);
  expect(summaryOf(out)).toEqual(s);
});

test('a run merged again replaces its part: nothing doubles, and the same inputs give the same bytes', async () => {
  const out = path.join(tmp, 'out');
  cpSync(A, out, { recursive: true });
  await mergeExports([out, runB(5)], out);
  expect(summaryOf(out).parts.map((p) => p.run)).toEqual([RUN_A, 'run-b']);
  expect(await loadDataset({ source: path.join(out, 'data.json') })).toHaveLength(summaryOf(A).accepted + 5);
  const b = runB();
  await mergeExports([out, b], out);
  const once = files(out).map((f) => [f, read(out, f)]);
  expect(await loadDataset({ source: path.join(out, 'data.json') })).toHaveLength(2 * summaryOf(A).accepted);
  await mergeExports([out, b], out);
  expect(files(out).map((f) => [f, read(out, f)])).toEqual(once);
  // Files merge does not own stay.
  expect(read(out, 'README.md')).toBe(read(A, 'README.md'));
});

test('a dialogue id in two runs, a folder without a summary: clear errors, the output untouched', async () => {
  const out = path.join(tmp, 'out');
  const twin = path.join(tmp, 'twin');
  cpSync(A, twin, { recursive: true });
  const s = path.join(twin, 'summary.json');
  writeFileSync(s, read(twin, 'summary.json').replaceAll(RUN_A, 'run-twin'));
  await expect(mergeExports([A, twin], out)).rejects.toThrow(
    /dialogue SYN21-000000 is in both run gen-real100-s21 and run run-twin/,
  );
  rmSync(s);
  await expect(mergeExports([A, twin], out)).rejects.toThrow(/twin: no summary.json/);
  expect(readdirSync(tmp).sort()).toEqual(['twin']);
});
