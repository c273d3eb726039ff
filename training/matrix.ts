/**
 * The experiment matrix (the paper's three experiments, DESIGN.md §4) planned from a
 * pipeline config: which training sets to assemble, which models to train (each once, even
 * when several experiments use it: one stage-1 model on the generated dialogues, one
 * all-real baseline per dataset version), in which order, and what to evaluate on which test
 * set. Pure and deterministic: the pipeline's `planPipeline` activity (whose result the
 * workflow's history keeps, so a change here never alters a running pipeline), `run --dry-run`
 * and the report all use it. The shared types are in `pipeline/experiments.ts`.
 *
 * Names, chosen so a one-version config keeps the names it always had:
 * - training sets: `generated`; per dataset version `real`, `real-k<k>`, `replace-<domain>`
 *   and `test`, prefixed with `<dataset>.` (or `<dataset>-<split>.`) for every version but
 *   the config's `data` one;
 * - models: `stage1` (on `generated`); `baseline[.<set>]` (real only) and `stage2[.<set>]`
 *   (from `stage1`), the suffix omitted for the `data` version's `real` set.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE } from '../common/failure-types';
import type { PipelineConfig } from '../pipeline/config';
import {
  EXPERIMENT_KIND,
  OFFICIAL_SPLIT_DIALOGUES,
  TRAIN_SET,
  type DataRef,
  type Domain,
  type ExperimentKind,
  type ExperimentSpec,
  type MatrixPlan,
  type PlannedArm,
  type PlannedEvaluation,
  type PlannedSet,
  type PlannedTraining,
  type PlannedVersion,
} from '../pipeline/experiments';

type MatrixConfig = Pick<PipelineConfig, 'data' | 'generation'> & {
  experiments?: ExperimentSpec[];
};

/**
 * The experiments of a config; without `experiments`, the historical shape: real only vs
 * two-stage on `data`, plus k-real (both arms) for each `data.kReal` and a domain
 * replacement for `data.replaceDomain`.
 */
export function experimentsOf(config: MatrixConfig): ExperimentSpec[] {
  if (config.experiments?.length) return config.experiments;
  const d = config.data as MatrixConfig['data'] & { kReal?: number[]; replaceDomain?: Domain };
  return [
    { train: 'real', stage1: 'both' },
    ...(d.kReal ?? []).map((k) => ({ train: `real-k${k}`, stage1: 'both' as const })),
    ...(d.replaceDomain ? [{ train: `replace-${d.replaceDomain}`, stage1: false }] : []),
  ];
}

const refKey = (r: DataRef) => `${r.dataset}/${r.split}`;

function prefixOf(r: DataRef, dflt: DataRef): string {
  if (r.dataset === dflt.dataset && r.split === dflt.split) return '';
  return r.split === dflt.split ? `${r.dataset}.` : `${r.dataset}-${r.split}.`;
}

const modelName = (trainSet: string, stage1: boolean) =>
  `${stage1 ? 'stage2' : 'baseline'}${trainSet === 'real' ? '' : `.${trainSet}`}`;

function kindOf(train: string): { kind: ExperimentKind; k?: number; domain?: Domain } {
  const m = TRAIN_SET.exec(train);
  // The config schema rejects such a name; a config that skipped it must not retry forever.
  if (!m)
    throw ApplicationFailure.nonRetryable(
      `unknown training set ${train}: use real, real-k<k> or replace-<domain>`,
      FAILURE.INVALID_INPUT,
    );
  if (m[2]) return { kind: EXPERIMENT_KIND.K_REAL, k: Number(m[2]) };
  if (m[3]) return { kind: EXPERIMENT_KIND.DOMAIN_REPLACEMENT, domain: m[3] as Domain };
  return { kind: EXPERIMENT_KIND.ALL_REAL };
}

/** Plans the matrix: sets, trainings (deduplicated, ordered), evaluations and arms. */
export function planMatrix(config: MatrixConfig): MatrixPlan {
  const d = config.data;
  type Spec = { train: string; stage1: boolean; real: DataRef; test: DataRef; reference?: boolean };
  const specs: Spec[] = experimentsOf(config).flatMap((e) =>
    (e.stage1 === 'both' ? [false, true] : [e.stage1]).map((stage1) => ({
      train: e.train,
      stage1,
      real: e.real ?? { dataset: e.dataset ?? d.real.dataset, split: d.real.split },
      test: e.test ?? { dataset: e.dataset ?? d.test.dataset, split: d.test.split },
    })),
  );
  // Each domain replacement is compared with the all-real model of its version.
  const withRefs = [...specs];
  for (const s of specs) {
    if (!s.train.startsWith('replace-')) continue;
    const same = (o: Spec) =>
      o.train === 'real' &&
      !o.stage1 &&
      refKey(o.real) === refKey(s.real) &&
      refKey(o.test) === refKey(s.test);
    if (!withRefs.some(same)) withRefs.push({ ...s, train: 'real', stage1: false, reference: true });
  }

  const versions = new Map<string, PlannedVersion>();
  const tests = new Map<string, { name: string; source: DataRef }>();
  const arms: PlannedArm[] = [];
  for (const s of withRefs) {
    const { real, test } = s;
    const prefix = prefixOf(real, d.real);
    const v = versions.get(refKey(real)) ?? { prefix, real, kReal: [], replaceDomains: [] };
    versions.set(refKey(real), v);
    const testName = `${prefixOf(test, d.test)}test`;
    tests.set(refKey(test), { name: testName, source: test });
    const { kind, k, domain } = kindOf(s.train);
    if (k !== undefined && !v.kReal.includes(k)) v.kReal.push(k);
    if (domain && !v.replaceDomains.includes(domain)) v.replaceDomains.push(domain);
    const trainSet = `${prefix}${s.train}`;
    const arm: PlannedArm = {
      kind: s.reference ? EXPERIMENT_KIND.ALL_REAL : kind,
      version: real.dataset === test.dataset ? real.dataset : `${real.dataset} → ${test.dataset}`,
      trainSet,
      train: s.train,
      stage1: s.stage1,
      model: modelName(trainSet, s.stage1),
      testSet: testName,
      test,
      reference: s.reference ?? false,
      ...(k !== undefined ? { k } : {}),
      ...(domain ? { domain } : {}),
    };
    if (!arms.some((a) => a.model === arm.model && a.testSet === arm.testSet && a.kind === arm.kind))
      arms.push(arm);
  }

  const trainings: PlannedTraining[] = [];
  if (arms.some((a) => a.stage1)) trainings.push({ model: 'stage1', trainSet: 'generated' });
  for (const stage1 of [false, true])
    for (const a of arms)
      if (a.stage1 === stage1 && !trainings.some((t) => t.model === a.model))
        trainings.push({
          model: a.model,
          trainSet: a.trainSet,
          ...(stage1 ? { from: 'stage1' as const } : {}),
        });

  const evaluations: PlannedEvaluation[] = [];
  for (const t of trainings) {
    if (t.model === 'stage1') continue;
    for (const a of arms) {
      if (a.model !== t.model || evaluations.some((e) => e.model === a.model && e.testSet === a.testSet))
        continue;
      const key = a.testSet === 'test' ? a.model : `${a.model}@${a.testSet}`;
      evaluations.push({ model: a.model, testSet: a.testSet, test: a.test, key });
    }
  }
  return {
    sets: plannedSets(config, [...versions.values()], [...tests.values()]),
    versions: [...versions.values()],
    tests: [...tests.values()],
    arms,
    trainings,
    evaluations,
  };
}

function plannedSets(
  config: MatrixConfig,
  versions: PlannedVersion[],
  tests: Array<{ name: string; source: DataRef }>,
): PlannedSet[] {
  const { realLimit, testLimit } = config.data;
  const sizeOf = (r: DataRef, limit?: number) => {
    const official = OFFICIAL_SPLIT_DIALOGUES[r.split];
    return Math.min(official, limit ?? official);
  };
  const sets: PlannedSet[] = [
    { name: 'generated', role: 'generated', dialogues: config.generation.goals, bound: 'at most' },
  ];
  for (const v of versions) {
    const n = sizeOf(v.real, realLimit);
    const bound = 'at most' as const;
    sets.push({ name: `${v.prefix}real`, role: 'real', source: v.real, dialogues: n, bound });
    for (const k of v.kReal)
      sets.push({
        name: `${v.prefix}real-k${k}`,
        role: 'k-real',
        source: v.real,
        k,
        dialogues: Math.min(k, n),
        bound,
      });
    for (const domain of v.replaceDomains)
      sets.push({
        name: `${v.prefix}replace-${domain}`,
        role: 'replace',
        source: v.real,
        domain,
        dialogues: n,
        bound,
      });
  }
  for (const t of tests)
    sets.push({
      name: t.name,
      role: 'test',
      source: t.source,
      dialogues: sizeOf(t.source, testLimit),
      bound: 'at most',
    });
  return sets;
}
