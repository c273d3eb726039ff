/**
 * The experiment matrix as the paper tables it (DESIGN.md §4): one Markdown table per
 * experiment kind (all real vs two-stage, k real dialogues, domain replacement), JGA % under
 * each convention, with the paper's numbers beside where it has them. Pure.
 */
import { TRACKED_DOMAINS } from '../multiwoz/types';
import { EXPERIMENT_KIND, type MatrixPlan, type PlannedArm } from '../pipeline/experiments';
import { PAPER_MATRIX } from './paper';

export interface MatrixScore {
  model: string;
  /** Test data the score is on; absent in old rows (then any test matches). */
  dataset?: string;
  split?: string;
  convention: string;
  jga: number;
  turns: number;
  perDomain: Record<string, { jga: number; turns: number }>;
  /** JGA of always answering the empty state on the same turns (absent in old rows). */
  emptyStateJga?: number;
}

const pct = (x: number | undefined) => (x === undefined ? '–' : (100 * x).toFixed(2));
const num = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2));
const delta = (a?: number, b?: number) =>
  a === undefined || b === undefined ? '–' : `${b >= a ? '+' : ''}${(100 * (b - a)).toFixed(2)}`;

function scoreOf(scores: MatrixScore[], arm: PlannedArm | undefined, convention: string) {
  if (!arm) return undefined;
  return scores.find(
    (s) =>
      s.model === arm.model &&
      s.convention === convention &&
      (s.dataset === undefined || (s.dataset === arm.test.dataset && s.split === arm.test.split)),
  );
}

/** Rows of one kind, grouped: real-only and two-stage arms of the same set side by side. */
function pairs(plan: MatrixPlan, kind: string) {
  const out: Array<{ key: string; only?: PlannedArm; two?: PlannedArm }> = [];
  for (const a of plan.arms) {
    if (a.kind !== kind || a.reference) continue;
    const key = `${a.version}|${a.trainSet}|${a.testSet}`;
    let row = out.find((r) => r.key === key);
    if (!row) out.push((row = { key }));
    if (a.stage1) row.two = a;
    else row.only = a;
  }
  return out;
}

const paperDataset = (a: PlannedArm) => a.test.dataset;

/** The three tables (only those the plan has), as Markdown lines. */
export function matrixMarkdown(plan: MatrixPlan, scores: MatrixScore[], conventions: string[]): string[] {
  const lines: string[] = [];
  const allReal = pairs(plan, EXPERIMENT_KIND.ALL_REAL);
  if (allReal.length) {
    lines.push(
      '### All real vs generated → real (two-stage), JGA %',
      '',
      '| dataset | convention | empty state | real only | two-stage | Δ | paper: real only | paper: two-stage | turns |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of allReal)
      for (const c of conventions) {
        const a = r.only ?? r.two!;
        const [b, t] = [scoreOf(scores, r.only, c), scoreOf(scores, r.two, c)];
        const p = PAPER_MATRIX.allReal[paperDataset(a)];
        lines.push(
          `| ${a.version} (${a.testSet}) | ${c} | ${pct(b?.emptyStateJga ?? t?.emptyStateJga)} | ${pct(b?.jga)} | ${pct(t?.jga)} | ${delta(b?.jga, t?.jga)} | ${num(p?.baseline)} | ${num(p?.twoStage)} | ${b?.turns ?? t?.turns ?? '–'} |`,
        );
      }
    lines.push('', '### Per-domain JGA % (real only → two-stage)', '');
    lines.push(
      `| dataset | convention | ${TRACKED_DOMAINS.join(' | ')} |`,
      `|---|---|${TRACKED_DOMAINS.map(() => '---:').join('|')}|`,
    );
    for (const r of allReal)
      for (const c of conventions) {
        const [b, t] = [scoreOf(scores, r.only, c), scoreOf(scores, r.two, c)];
        lines.push(
          `| ${(r.only ?? r.two)!.version} | ${c} | ${TRACKED_DOMAINS.map((d) => `${pct(b?.perDomain[d]?.jga)} → ${pct(t?.perDomain[d]?.jga)}`).join(' | ')} |`,
        );
      }
    lines.push('');
  }
  const kReal = pairs(plan, EXPERIMENT_KIND.K_REAL);
  if (kReal.length) {
    lines.push(
      '### k real dialogues, with and without stage 1 on generated ones, JGA %',
      '',
      '| dataset | k | convention | real only | two-stage | Δ | paper: real only | paper: two-stage |',
      '|---|---:|---|---:|---:|---:|---:|---:|',
    );
    for (const r of kReal)
      for (const c of conventions) {
        const a = (r.only ?? r.two)!;
        const [b, t] = [scoreOf(scores, r.only, c), scoreOf(scores, r.two, c)];
        const p = a.k === 1000 ? PAPER_MATRIX.k1000[paperDataset(a)] : undefined;
        lines.push(
          `| ${a.version} | ${a.k} | ${c} | ${pct(b?.jga)} | ${pct(t?.jga)} | ${delta(b?.jga, t?.jga)} | ${num(p?.baseline)} | ${num(p?.twoStage)} |`,
        );
      }
    lines.push('');
  }
  const repl = plan.arms.filter((a) => a.kind === EXPERIMENT_KIND.DOMAIN_REPLACEMENT);
  if (repl.length) {
    lines.push(
      '### Domain replacement: one domain’s real dialogues replaced by generated ones, JGA %',
      '',
      '| dataset | domain replaced | stage 1 | convention | all real | replaced | Δ | that domain’s JGA: all real → replaced |',
      '|---|---|---|---|---:|---:|---:|---:|',
    );
    const deltas = new Map<string, number[]>();
    for (const a of repl) {
      const ref = plan.arms.find(
        (o) =>
          !o.stage1 &&
          o.testSet === a.testSet &&
          o.trainSet === a.trainSet.replace(/replace-[a-z]+$/, 'real'),
      );
      for (const c of conventions) {
        const [b, t] = [scoreOf(scores, ref, c), scoreOf(scores, a, c)];
        if (b && t) {
          const k = `${a.version}|${c}`;
          deltas.set(k, [...(deltas.get(k) ?? []), 100 * (t.jga - b.jga)]);
        }
        const d = a.domain!;
        lines.push(
          `| ${a.version} | ${d} | ${a.stage1 ? 'yes' : 'no'} | ${c} | ${pct(b?.jga)} | ${pct(t?.jga)} | ${delta(b?.jga, t?.jga)} | ${pct(b?.perDomain[d]?.jga)} → ${pct(t?.perDomain[d]?.jga)} |`,
        );
      }
    }
    lines.push('');
    for (const [k, ds] of deltas) {
      const [version, c] = k.split('|');
      const mean = ds.reduce((x, y) => x + y, 0) / ds.length;
      lines.push(
        `Mean Δ over ${ds.length} replaced domain(s), ${version}, ${c}: ${mean >= 0 ? '+' : ''}${mean.toFixed(2)} JGA points.`,
        '',
      );
    }
    lines.push(
      `Paper: replacing one domain costs on average ${PAPER_MATRIX.domainReplacementCost.multiwoz22.toFixed(2)} JGA points on MultiWOZ 2.2.`,
      '',
    );
  }
  lines.push(
    `Paper numbers: ${PAPER_MATRIX.model}; its MultiWOZ 2.2 scores use its own convention (\`luas\`), its 2.4 scores the TRADE one — compare rows of the same convention.`,
    '',
  );
  return lines;
}
