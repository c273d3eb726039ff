/**
 * `dst-synth export <run>` on a generation run stored in a real PostgreSQL: accepted,
 * rejected and pending goals (real 2.1 test dialogues standing in for generated ones),
 * read in small pages; exporting twice gives the same bytes, the files equal
 * `writeExport`'s, and the 2.2 output reloads with equal states.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportRun } from '../../activities/export-run';
import { dialogues, generationAttempts, generationGoals, runs } from '../../db/schema';
import { writeExport } from '../../multiwoz/export';
import { loadDataset } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';
import { SPEAKER, type Dialogue } from '../../multiwoz/types';
import { spawnCli } from '../helpers/cli';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';

let db: TestDatabase;
let real: Dialogue[];
const RUN = 'pipe-export-generate';
const GOALS = 130;
const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-export-'));

/** Goal i: every 9th rejected twice, every 4th accepted at its 2nd attempt, the last pending. */
const fate = (i: number) =>
  i === GOALS - 1 ? 'pending' : i % 9 === 0 ? 'rejected' : i % 4 === 0 ? 'retried' : 'accepted';

beforeAll(async () => {
  db = await startTestDatabase();
  const all = await loadDataset({
    dataset: 'multiwoz21',
    source: path.join(multiwozDir(), '2.1/test.json.zip'),
  });
  real = all.slice(0, GOALS);
  const h = db.handle.db;
  await h.insert(runs).values([
    { id: 'pipe-export', kind: 'pipeline', status: 'completed', config: {} },
    { id: RUN, kind: 'generate', status: 'completed', config: {} },
  ] as never);
  const usage = { calls: 20, promptTokens: 9000, completionTokens: 800, costUsd: 0.0125 };
  const turnsOf = (d: Dialogue) => d.turns.map((t) => ({ speaker: t.speaker, text: t.utterance }));
  const cap = { reason: 'domain_cap_exceeded', turn: 7, detail: 'hotel not done in 12 turns' };
  const fixed = { reason: 'goal_mismatch', turn: 1, slot: 'hotel-area', detail: 'north → centre' };
  // Inserted in shuffled goal order: the export's order must not depend on insertion.
  for (const i of [...real.keys()].sort((a, b) => ((a * 37) % GOALS) - ((b * 37) % GOALS))) {
    const d = real[i]!;
    const f = fate(i);
    const accepted = f === 'accepted' || f === 'retried';
    await h.insert(generationGoals).values({
      runId: RUN,
      goalIndex: i,
      goal: { index: i, domains: d.services } as never,
      status: f === 'retried' ? 'accepted' : f,
      attempts: f === 'pending' ? 0 : f === 'accepted' ? 1 : 2,
      reason: f === 'rejected' ? 'domain_cap_exceeded' : null,
      dialogueId: accepted ? d.id : null,
      ...usage,
    });
    const attempts =
      f === 'pending' ? [] : f === 'accepted' ? [true] : f === 'retried' ? [false, true] : [false, false];
    for (const [k, ok] of attempts.entries())
      await h.insert(generationAttempts).values({
        runId: RUN,
        goalIndex: i,
        attempt: k + 1,
        accepted: ok,
        reason: ok ? null : 'domain_cap_exceeded',
        failures: (ok ? [fixed] : [cap]) as never,
        turns: turnsOf(d) as never,
        ...usage,
      });
    if (accepted)
      await h.insert(dialogues).values({
        source: 'generated',
        dataset: 'generated',
        datasetVersion: RUN,
        split: 'train',
        dialogueId: d.id,
        runId: RUN,
        services: d.services,
        numUserTurns: d.turns.filter((t) => t.speaker === SPEAKER.USER).length,
        content: d as never,
        states: d.turns.flatMap((t) => (t.state ? [t.state] : [])),
      });
  }
}, 180_000);

afterAll(async () => {
  await db?.stop();
});

/** sha256 of every file under `root`, by relative path. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = path.join(rel, name);
      if (statSync(path.join(root, r)).isDirectory()) walk(r);
      else
        out[r] = createHash('sha256')
          .update(readFileSync(path.join(root, r)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}
const jsonl = (f: string) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const userStates = (d: Dialogue) =>
  d.turns.filter((t) => t.speaker === SPEAKER.USER).map((t) => t.state ?? {});

test('export: 2.2 + data.json + jsonl + summary, paged, the same bytes twice, reloads with equal states', async () => {
  const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
  const progress: number[] = [];
  const first = await exportRun(db.handle.db, RUN, a, {
    pageSize: 7,
    onProgress: (done) => progress.push(done),
  });
  await exportRun(db.handle.db, 'pipe-export', b, { pageSize: 50 }); // a pipeline id: its generation step
  await exportRun(db.handle.db, RUN, a, { pageSize: 7 }); // again, over the first
  expect(tree(a)).toEqual(tree(b));
  expect(Object.keys(tree(a))).toEqual([
    'accepted.jsonl',
    'data.json',
    'goals.jsonl',
    'multiwoz22/generated/dialogues_001.json',
    'multiwoz22/generated/dialogues_002.json',
    'multiwoz22/schema.json',
    'rejected.jsonl',
    'summary.json',
    'testListFile.json',
    'valListFile.json',
  ]);
  expect(progress).toEqual([
    0,
    ...Array.from({ length: Math.ceil(GOALS / 7) }, (_, i) => Math.min(GOALS, 7 * (i + 1))),
  ]);

  const accepted = real.filter((_, i) => ['accepted', 'retried'].includes(fate(i)));
  const rejectedGoals = real.filter((_, i) => fate(i) === 'rejected').length;
  const retried = real.filter((_, i) => fate(i) === 'retried').length;
  expect(first.summary).toMatchObject({
    run: RUN,
    goals: GOALS,
    done: GOALS - 1,
    pending: 1,
    accepted: accepted.length,
    rejected: rejectedGoals,
    dialogues: accepted.length,
    reasons: { domain_cap_exceeded: 2 * rejectedGoals + retried },
    corrections: { goal_mismatch: accepted.length },
  });
  expect(JSON.parse(readFileSync(path.join(a, 'summary.json'), 'utf8'))).toEqual(first.summary);

  // The same files writeExport makes from the dialogues in memory: the same content (jsonb
  // keeps object keys in its own order, so keys may come out in another order).
  const ref = path.join(dir, 'ref');
  await writeExport({ dialogues: accepted, outDir: ref });
  const content = (root: string, f: string) => {
    const text = readFileSync(path.join(root, f), 'utf8');
    return f.endsWith('.json') && text ? (JSON.parse(text) as unknown) : text;
  };
  for (const f of Object.keys(tree(ref))) expect([f, content(a, f)]).toEqual([f, content(ref, f)]);

  // 2.2 output back through the loaders: same dialogues, same states.
  const back = await loadDataset({ dataset: 'multiwoz22', source: path.join(a, 'multiwoz22') });
  expect(back.map((d) => d.id)).toEqual(accepted.map((d) => d.id));
  back.forEach((d, i) => expect(userStates(d)).toEqual(userStates(accepted[i]!)));

  const rej = jsonl(path.join(a, 'rejected.jsonl'));
  expect(rej).toHaveLength(2 * rejectedGoals + retried);
  expect(rej[0]).toMatchObject({ goal_index: 0, attempt: 1, reason: 'domain_cap_exceeded' });
  expect(rej.every((r) => r.reason === 'domain_cap_exceeded' && Array.isArray(r.failures))).toBe(true);
  const acc = jsonl(path.join(a, 'accepted.jsonl'));
  expect(acc.map((r) => r.id)).toEqual(accepted.map((d) => d.id));
  expect(acc[0]).toMatchObject({
    goal_index: 1,
    usage: { calls: 20 },
    failures: [{ reason: 'goal_mismatch' }],
  });
  expect(jsonl(path.join(a, 'goals.jsonl')).map((g) => g.index)).toEqual([...real.keys()]);
}, 120_000);

test('the CLI command: summary, files, a pipeline id resolved to its generation run', async () => {
  const out = path.join(dir, 'cli');
  const cli = spawnCli(['export', 'pipe-export', '--out', out, '--json'], {
    ...process.env,
    DATABASE_URL: db.url,
  });
  expect(await cli.exited).toBe(0);
  const s = JSON.parse(cli.output().trim().split('\n').pop()!) as { run: string; out: string; goals: number };
  expect(s).toMatchObject({ run: RUN, out, goals: GOALS });
  expect(tree(out)).toEqual(tree(path.join(dir, 'b')));
}, 60_000);
