/**
 * `dst-synth run --config <file> --dry-run [--json]`: the experiment matrix a config asks
 * for — training sets with sizes, experiments, models to train in order, evaluations —
 * printed without starting anything (no Temporal, no database, no data read).
 *
 * Sizes come from the config alone: `generation.goals` (an upper bound on the accepted
 * dialogues), `data.realLimit`/`data.testLimit`, each `k`, and the official split sizes
 * (`OFFICIAL_SPLIT_DIALOGUES`); the sizes actually assembled are in the run report's
 * "Training files" table.
 */
import type { PipelineConfig } from '../pipeline/config';
import {
  EXPERIMENT_KIND,
  OFFICIAL_SPLIT_DIALOGUES,
  type MatrixPlan,
  type PlannedSet,
} from '../pipeline/experiments';
import { planMatrix } from '../training/matrix';

export const SIZES_FROM =
  'sizes from the config (generation.goals, data.realLimit/testLimit, k) and the official split sizes ' +
  `(train ${OFFICIAL_SPLIT_DIALOGUES.train}, dev ${OFFICIAL_SPLIT_DIALOGUES.dev}, test ${OFFICIAL_SPLIT_DIALOGUES.test} dialogues); no data is read`;

const KIND_TITLE: Record<string, string> = {
  [EXPERIMENT_KIND.ALL_REAL]: 'all real vs generated → real (two-stage)',
  [EXPERIMENT_KIND.K_REAL]: 'k real dialogues, with and without stage 1',
  [EXPERIMENT_KIND.DOMAIN_REPLACEMENT]: 'domain replacement (vs all real)',
};

function setNote(s: PlannedSet, goals: number): string {
  const src = s.source ? `${s.source.dataset}/${s.source.split}` : '';
  switch (s.role) {
    case 'generated':
      return `accepted dialogues of ${goals} goals`;
    case 'k-real':
      return `seeded sample of ${s.k} from the real set (${src})`;
    case 'replace':
      return `real (${src}), dialogues touching ${s.domain} replaced by generated ones`;
    default:
      return src;
  }
}

function baseModel(config: PipelineConfig): string {
  return config.training.tiny && !config.training.init ? 'tiny random model' : (config.training.init ?? '?');
}

/** The matrix as one JSON-able object (`--json`). */
export function matrixJson(config: PipelineConfig, plan: MatrixPlan = planMatrix(config)) {
  return {
    name: config.name,
    sizes: SIZES_FROM,
    sets: plan.sets.map((s) => ({ ...s, note: setNote(s, config.generation.goals) })),
    experiments: plan.arms,
    trainings: plan.trainings.map((t, i) => ({
      order: i + 1,
      ...t,
      init: t.from ?? baseModel(config),
      devices: config.training.devices,
    })),
    evaluations: plan.evaluations.map((e) => ({ ...e, conventions: config.conventions })),
  };
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);

/** The matrix as text (`--dry-run`). */
export function formatMatrix(config: PipelineConfig, plan: MatrixPlan = planMatrix(config)): string {
  const w =
    Math.max(...plan.sets.map((s) => s.name.length), ...plan.trainings.map((t) => t.model.length)) + 2;
  const out = [
    `experiment matrix of ${config.name} (dry run: nothing is started)`,
    SIZES_FROM,
    '',
    'training sets (dialogues)',
  ];
  for (const s of plan.sets)
    out.push(
      `  ${pad(s.name, w)} ${s.bound === 'at most' ? '≤ ' : '  '}${pad(s.dialogues, 6)} ${setNote(s, config.generation.goals)}`,
    );
  out.push('', `experiments (${plan.arms.filter((a) => !a.reference).length})`);
  for (const kind of Object.values(EXPERIMENT_KIND)) {
    const arms = plan.arms.filter((a) => a.kind === kind && !a.reference);
    if (!arms.length) continue;
    out.push(`  ${KIND_TITLE[kind]}`);
    for (const a of arms) {
      const what = a.k ? `k=${a.k}` : a.domain ? a.domain : '';
      const ref =
        kind === EXPERIMENT_KIND.DOMAIN_REPLACEMENT
          ? `  vs ${a.trainSet.replace(/replace-[a-z]+$/, 'real') === 'real' ? 'baseline' : `baseline.${a.trainSet.replace(/replace-[a-z]+$/, 'real')}`}`
          : '';
      out.push(
        `    ${pad(a.version, 24)} ${pad(what, 11)} ${pad(a.stage1 ? 'two-stage' : 'real only', 10)} model ${pad(a.model, w)} test ${a.testSet}${ref}`,
      );
    }
  }
  out.push(
    '',
    `models to train (${plan.trainings.length}), in this order: the gpu workers run one per device (${config.training.devices} per training), stage 2s wait for stage 1`,
  );
  plan.trainings.forEach((t, i) =>
    out.push(
      `  ${String(i + 1).padStart(2)}. ${pad(t.model, w)} on ${pad(t.trainSet, w)} from ${t.from ?? baseModel(config)}`,
    ),
  );
  out.push(
    '',
    `evaluations (${plan.evaluations.length}), each as soon as its model is trained, under ${config.conventions.join(', ')}`,
  );
  for (const e of plan.evaluations)
    out.push(`  ${pad(e.model, w)} on ${e.testSet} (${e.test.dataset}/${e.test.split})`);
  return out.join('\n');
}
