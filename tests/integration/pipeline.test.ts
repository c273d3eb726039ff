/**
 * The whole pipeline on real parts: Temporal dev server, Postgres, the loopback LLM server
 * (scripted roles) and the Python trainer with a tiny model on CPU.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { sql } from 'drizzle-orm';
import { startPipeline } from '../../client/pipeline';
import { PipelineWatcher } from '../../client/pipeline-status';
import type { PipelineSnapshot } from '../../client/pipeline-view';
import { recordHistory } from '../helpers/histories';
import { tinyConfig } from '../helpers/pipeline-config';
import type { TestDatabase } from '../helpers/postgres';
import { startTestServices, type TestServices } from '../helpers/services';

let env: TestWorkflowEnvironment;
let db: TestDatabase;
let services: TestServices;
const KEY = 'sk-pipeline';

beforeAll(async () => {
  services = await startTestServices({ apiKey: KEY, workers: true });
  ({ env, db } = services);
}, 120_000);

afterAll(() => services?.stop());

test('import → generate → assemble → baseline ∥ stage 1 → 2 → evaluate → report', async () => {
  const runId = 'pipe-test-full';
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'dst-pipe-'));
  const handle = await startPipeline(env.client, runId, tinyConfig(), workDir);
  // What the console follows: the snapshots, polled as `demo`/`run`/`watch` do.
  const watcher = new PipelineWatcher(env.client, runId);
  const seen: PipelineSnapshot[] = [];
  let running = true;
  const watching = (async () => {
    while (running) {
      const s = await watcher.snapshot().catch(() => undefined);
      if (s) seen.push(s);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const result = await handle.result().finally(() => (running = false));
  await watching;
  // Once the generate step was seen running, its final totals follow once (the line left on
  // screen). The 6 goals take about a second here (4 polls saw it), so it may be missed.
  if (seen.some((s) => s.generation)) {
    const finished = seen.filter((s) => s.finishedGeneration).map((s) => s.finishedGeneration!);
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ done: 6, total: 6, inFlight: 0, status: 'completed' });
  }
  expect(result.files.map((f) => f.name).sort()).toEqual(['generated', 'real', 'test']);
  expect(result.models.map((m) => m.name)).toEqual(['baseline', 'stage1', 'stage2']);
  for (const m of result.models) expect(existsSync(path.join(m.path, 'config.json'))).toBe(true);
  // stage 2 starts from the stage-1 weights
  const trainer = JSON.parse(readFileSync(path.join(workDir, 'models/stage2/dst_trainer.json'), 'utf8'));
  expect(JSON.stringify(trainer)).toContain(path.join(workDir, 'models/stage1'));
  for (const model of ['baseline', 'stage2'])
    expect(result.scores[model]!.map((s) => s.convention).sort()).toEqual(['luas', 'sgd', 'trade']);
  const rows = await db.handle.db.execute<{ n: string }>(
    sql`select count(*) as n from evaluations where run_id = ${runId}`,
  );
  expect(Number(rows.rows[0]!.n)).toBe(6);
  const html = readFileSync(result.report.html, 'utf8');
  expect(html).toContain('<svg');
  expect(html).toMatch(/All real vs generated → real/);
  expect(readFileSync(result.report.markdown, 'utf8')).toMatch(/\| trade \| \d+\.\d\d \| \d+\.\d\d \|/);
  await recordHistory(handle, 'pipeline');
}, 600_000);
