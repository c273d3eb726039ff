/** The experiment matrix planned from a config (`training/matrix.ts`). */
import path from 'node:path';
import { loadPipelineConfig } from '../../client/pipeline';
import { ApplicationFailure } from '@temporalio/common';
import { createPlanActivities } from '../../activities/plan';
import { FAILURE } from '../../common/failure-types';
import { planMatrix } from '../../training/matrix';
import { tinyConfig } from '../helpers/pipeline-config';

test('a config without experiments keeps the historical baseline ∥ stage 1 → stage 2', () => {
  const plan = planMatrix(tinyConfig());
  expect(plan.trainings).toEqual([
    { model: 'stage1', trainSet: 'generated' },
    { model: 'baseline', trainSet: 'real' },
    { model: 'stage2', trainSet: 'real', from: 'stage1' },
  ]);
  expect(plan.evaluations.map((e) => e.key)).toEqual(['baseline', 'stage2']);
  expect(plan.sets.map((s) => s.name)).toEqual(['generated', 'real', 'test']);
});

test('legacy kReal and replaceDomain become trained experiments', () => {
  const c = tinyConfig();
  const plan = planMatrix({ ...c, data: { ...c.data, kReal: [10], replaceDomain: 'hotel' } });
  expect(plan.trainings.map((t) => t.model)).toEqual([
    'stage1',
    'baseline',
    'baseline.real-k10',
    'baseline.replace-hotel',
    'stage2',
    'stage2.real-k10',
  ]);
  expect(plan.arms.map((a) => a.kind)).toEqual([
    'all-real',
    'all-real',
    'k-real',
    'k-real',
    'domain-replacement',
  ]);
});

test('the paper matrix: identical trainings once, one stage 1, references added', () => {
  const c = tinyConfig();
  const plan = planMatrix({
    ...c,
    experiments: [
      { train: 'real', stage1: 'both' },
      { train: 'real', stage1: 'both', dataset: 'multiwoz24' },
      { train: 'real-k5', stage1: 'both' },
      { train: 'replace-hotel', stage1: false },
      { train: 'replace-taxi', stage1: false, dataset: 'multiwoz24' },
    ],
  });
  const models = plan.trainings.map((t) => t.model);
  expect(models).toEqual([
    'stage1',
    'baseline',
    'baseline.multiwoz24.real',
    'baseline.real-k5',
    'baseline.replace-hotel',
    'baseline.multiwoz24.replace-taxi',
    'stage2',
    'stage2.multiwoz24.real',
    'stage2.real-k5',
  ]);
  expect(new Set(models).size).toBe(models.length);
  // multiwoz24's all-real baseline is listed once, though the taxi replacement needs it too
  expect(plan.arms.filter((a) => a.model === 'baseline.multiwoz24.real')).toHaveLength(1);
  expect(plan.tests).toEqual([
    { name: 'test', source: { dataset: 'multiwoz21', split: 'test' } },
    { name: 'multiwoz24.test', source: { dataset: 'multiwoz24', split: 'test' } },
  ]);
  expect(plan.evaluations.find((e) => e.model === 'stage2.multiwoz24.real')).toMatchObject({
    testSet: 'multiwoz24.test',
    key: 'stage2.multiwoz24.real@multiwoz24.test',
  });
});

test('a replacement alone gets its all-real reference model', () => {
  const c = tinyConfig();
  const plan = planMatrix({ ...c, experiments: [{ train: 'replace-train', stage1: false }] });
  expect(plan.trainings.map((t) => t.model)).toEqual(['baseline.replace-train', 'baseline']);
  expect(plan.arms.find((a) => a.model === 'baseline')).toMatchObject({ reference: true });
});

test.each(['llama2-7b.json', 'paper-matrix-cpu.json', 'tiny-cpu.json'])('examples/%s plans', (name) => {
  const plan = planMatrix(loadPipelineConfig(path.join(__dirname, '../../examples', name)));
  expect(plan.trainings.length).toBeGreaterThan(1);
});

test('an unknown training set fails without retries (ApplicationFailure, not a plain Error)', async () => {
  const c = tinyConfig();
  const bad = { ...c, experiments: [{ train: 'real-k0', stage1: false }] };
  const err = (() => {
    try {
      planMatrix(bad);
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: FAILURE.INVALID_INPUT, nonRetryable: true });
  // The pipeline's first activity plans: its result is what the workflow's history keeps.
  const { planPipeline } = createPlanActivities();
  await expect(planPipeline({ config: bad })).rejects.toMatchObject({ nonRetryable: true });
  await expect(planPipeline({ config: c })).resolves.toEqual(planMatrix(c));
});
