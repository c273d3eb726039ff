/**
 * The data queue's long activities on a real (embedded) PostgreSQL: `evaluatePredictions`,
 * `recordPipeline` and `writeReport` heartbeat while a slow dependency holds them up (a locked
 * table, a slow read of the training split), so the proxy's heartbeat timeout only catches dead
 * workers; and a quality section that cannot be computed says why in the report.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { REFERENCE_PREDICTOR } from '../../activities/evaluate-types';
import { createEvaluateActivities } from '../../activities/evaluate';
import { createPipelineRunActivities } from '../../activities/pipeline-run';
import { createReportActivities } from '../../activities/report';
import { dialogues, runs } from '../../db/schema';
import type { Dialogue } from '../../multiwoz/types';
import { loadReportData } from '../../reporting/load';
import { reportMarkdown } from '../../reporting/report';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';

let t: TestDatabase;
let tmp: string;
const HOLD_MS = 800;

const hotelIn = (id: string, area: string): Dialogue => ({
  id,
  services: ['hotel'],
  turns: [
    { speaker: 'USER', utterance: `a hotel in the ${area} please`, state: { 'hotel-area': [area] } },
    { speaker: 'SYSTEM', utterance: 'I have several.' },
  ],
});

const stored = (d: Dialogue, source: 'real' | 'generated', runId?: string) => ({
  source,
  dataset: source === 'real' ? 'multiwoz24' : 'generated',
  datasetVersion: source === 'real' ? 'v1' : (runId ?? ''),
  split: source === 'real' ? 'test' : 'train',
  dialogueId: d.id,
  runId,
  services: d.services,
  numUserTurns: 1,
  content: d,
  states: [d.turns[0]!.state!],
});

beforeAll(async () => {
  t = await startTestDatabase();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dst-data-acts-'));
  const db = t.handle.db;
  await db.insert(runs).values([
    { id: 'p', kind: 'pipeline', config: { name: 'p' } },
    { id: 'p-generate', kind: 'generate', config: {} },
  ]);
  await db
    .insert(dialogues)
    .values([
      stored(hotelIn('MUL0001', 'north'), 'real'),
      stored(hotelIn('gen-0', 'south'), 'generated', 'p-generate'),
    ]);
});
afterAll(async () => {
  await t?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Holds an exclusive lock on `table` from another connection for `ms`, as a stuck writer would. */
async function lockFor(table: string, ms: number): Promise<{ released: Promise<void> }> {
  const c = new Client({ connectionString: t.url });
  await c.connect();
  await c.query('begin');
  await c.query(`lock table ${table} in access exclusive mode`);
  const released = new Promise<void>((resolve, reject) => {
    setTimeout(() => {
      c.query('commit')
        .then(() => c.end())
        .then(resolve, reject);
    }, ms);
  });
  // An object, not the promise itself: awaiting lockFor must not wait for the release.
  return { released };
}

/** Runs an activity in a mock environment with a 500 ms heartbeat timeout; counts its heartbeats. */
async function runCounting<R>(fn: () => Promise<R>): Promise<{ result: R; beats: number; ms: number }> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 500 });
  let beats = 0;
  env.on('heartbeat', () => beats++);
  const t0 = Date.now();
  const result = (await env.run(fn)) as R;
  return { result, beats, ms: Date.now() - t0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('recordPipeline heartbeats while its upsert waits on a locked runs table', async () => {
  const { recordPipeline } = createPipelineRunActivities({ db: t.handle.db });
  const { released } = await lockFor('runs', HOLD_MS);
  const r = await runCounting(() =>
    recordPipeline({ runId: 'p', config: { name: 'p' }, status: 'running', step: 'report' }),
  );
  await released;
  expect(r.ms).toBeGreaterThanOrEqual(HOLD_MS - 100);
  // 100 ms period (a fifth of the timeout): one at the start, then about one per period.
  expect(r.beats).toBeGreaterThanOrEqual(4);
});

test('evaluatePredictions heartbeats while saving its scores waits on a lock', async () => {
  const { evaluatePredictions } = createEvaluateActivities({ db: t.handle.db });
  const { released } = await lockFor('evaluations', HOLD_MS);
  const r = await runCounting(() =>
    evaluatePredictions({
      model: REFERENCE_PREDICTOR.ORACLE,
      dataset: 'multiwoz24',
      split: 'test',
      conventions: ['trade'],
    }),
  );
  await released;
  expect(r.result).toEqual([expect.objectContaining({ convention: 'trade', jga: 1, turns: 1 })]);
  expect(r.beats).toBeGreaterThanOrEqual(4);
});

test('writeReport heartbeats while the training split loads, and shows the quality section', async () => {
  let reads = 0;
  const realTraining = async () => {
    reads++;
    await sleep(HOLD_MS);
    return [hotelIn('MUL0100', 'north'), hotelIn('MUL0101', 'east')];
  };
  const { writeReport } = createReportActivities({ db: t.handle.db, realTraining });
  const r = await runCounting(() => writeReport({ runId: 'p', outDir: tmp }));
  expect(reads).toBe(1);
  expect(r.beats).toBeGreaterThanOrEqual(4);
  const md = readFileSync(r.result.markdown, 'utf8');
  expect(md).toContain('## Data quality (generated vs real training split)');
  expect(md).toMatch(/\| dialogues \| 1 \| 2 \|/);
  expect(md).not.toContain('Not computed');
});

test('a training split that cannot be read: the report says why, not a silently missing section', async () => {
  const realTraining = () => Promise.reject(new Error('ENOENT: no such file /nowhere/train.json'));
  const data = await loadReportData(t.handle.db, 'p', { realTraining });
  expect(data.quality).toBeUndefined();
  expect(data.qualityError).toBe('ENOENT: no such file /nowhere/train.json');
  expect(reportMarkdown(data)).toContain(
    '## Data quality (generated vs real training split)\n\nNot computed: ENOENT: no such file /nowhere/train.json\n',
  );
});
