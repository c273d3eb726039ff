/**
 * The paper's three experiments from one config (`examples/paper-matrix-cpu.json`) end to end
 * on real parts — Temporal dev server, PostgreSQL, the loopback LLM (scripted roles), the
 * Python trainer — at test scale: few dialogues, the random tiny model, one CPU "device".
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PipelineConfigSchema } from '../../pipeline/config';
import { loadPipelineConfig, startPipeline } from '../../client/pipeline';
import { multiwozDir } from '../../multiwoz/paths';
import { recordHistory } from '../helpers/histories';
import { tinyConfig } from '../helpers/pipeline-config';
import { startTestServices, type TestServices } from '../helpers/services';

let env: TestWorkflowEnvironment;
let services: TestServices;
const KEY = 'sk-matrix';

beforeAll(async () => {
  services = await startTestServices({ apiKey: KEY, workers: true });
  ({ env } = services);
}, 120_000);

afterAll(() => services?.stop());

test('paper-matrix-cpu: all three experiment kinds trained, evaluated and tabled', async () => {
  const example = loadPipelineConfig(path.join(__dirname, '../../examples/paper-matrix-cpu.json'));
  const tiny = tinyConfig({ 'max-steps': 2 });
  const mw = multiwozDir();
  // The example's experiments (one domain replacement of its two), on test-sized data.
  const config = PipelineConfigSchema.parse({
    ...example,
    import: [
      ...tiny.import,
      { dataset: 'multiwoz24', source: path.join(mw, '2.4/dev-10pct.icdst.json'), split: 'dev' },
    ],
    generation: tiny.generation,
    data: { ...tiny.data, realLimit: 30, testLimit: 3 },
    experiments: example.experiments!.filter((e) => e.train !== 'replace-train'),
    training: tiny.training,
  });
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'dst-matrix-'));
  const handle = await startPipeline(env.client, 'matrix-test', config, workDir);
  const result = await handle.result();

  expect(result.files.map((f) => f.name).sort()).toEqual([
    'generated',
    'multiwoz24-dev.test',
    'real',
    'real-k50',
    'replace-hotel',
    'test',
  ]);
  // One stage 1 shared by both two-stage models; the all-real baseline shared by the
  // all-real and domain-replacement experiments and by both test sets.
  expect(result.models.map((m) => m.name)).toEqual([
    'baseline',
    'baseline.real-k50',
    'baseline.replace-hotel',
    'stage1',
    'stage2',
    'stage2.real-k50',
  ]);
  expect(Object.keys(result.scores).sort()).toEqual([
    'baseline',
    'baseline.real-k50',
    'baseline.replace-hotel',
    'baseline@multiwoz24-dev.test',
    'stage2',
    'stage2.real-k50',
    'stage2@multiwoz24-dev.test',
  ]);
  const md = readFileSync(result.report.markdown, 'utf8');
  expect(md).toContain('### All real vs generated → real (two-stage), JGA %');
  expect(md).toContain('### k real dialogues, with and without stage 1 on generated ones, JGA %');
  expect(md).toContain('### Domain replacement');
  expect(md).toMatch(/\| multiwoz21 \(test\) \| trade \| \d+\.\d\d \| \d+\.\d\d \|/);
  expect(md).toMatch(
    /\| multiwoz21 → multiwoz24 \(multiwoz24-dev\.test\) \| trade \| \d+\.\d\d \| \d+\.\d\d \|/,
  );
  expect(md).toMatch(/\| multiwoz21 \| 50 \| trade \| \d+\.\d\d \| \d+\.\d\d \|/);
  expect(md).toMatch(/\| multiwoz21 \| hotel \| no \| trade \| \d+\.\d\d \| \d+\.\d\d \|/);
  // The replay test's matrix config: a planner change must not break running matrices.
  await recordHistory(handle, 'pipeline-matrix');
}, 900_000);
