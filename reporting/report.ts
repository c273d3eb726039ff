/**
 * The run report: what data was made, how training went, and baseline vs two-stage scores
 * per convention and domain, with the paper's numbers for reference. Pure: data in, HTML
 * and Markdown out (`reporting/load.ts` reads the data from Postgres).
 */
import { TRACKED_DOMAINS } from '../multiwoz/types';
import type { MatrixPlan } from '../pipeline/experiments';
import { matrixMarkdown } from './matrix';
import { PAPER } from './paper';
import type { QualityReport } from './quality';
import { qualityMarkdown, sampleMarkdown } from './quality-format';
import { barChart, esc, lineChart } from './svg';

export interface ReportData {
  runId: string;
  name: string;
  status: string;
  generatedAt: string;
  generation: {
    runId: string;
    goals: number;
    done: number;
    accepted: number;
    rejected: number;
    reasons: Record<string, number>;
    dialogues: number;
    turns: number;
    calls: number;
    promptTokens: number;
    completionTokens: number;
    costUsd: number;
    model: string;
  };
  datasets: Array<{ name: string; dialogues: number; examples: number; sha256: string }>;
  models: Array<{
    name: string;
    init: string;
    status: string;
    steps?: number;
    trainLoss?: number;
    curve: Array<{ step: number; loss: number }>;
  }>;
  scores: Array<{
    model: string;
    convention: string;
    jga: number;
    slotAccuracy: number;
    slotF1: number;
    turns: number;
    perDomain: Record<string, { jga: number; turns: number }>;
    /** JGA of always answering the empty state on the same turns (absent in old reports). */
    emptyStateJga?: number;
    /** The test data scored (absent in old reports). */
    dataset?: string;
    split?: string;
  }>;
  test: string;
  /** The run's experiment matrix: the Results tables per experiment kind. */
  matrix?: MatrixPlan;
  /** Data quality of the generated dialogues beside the real training split (with samples). */
  quality?: QualityReport;
  /** Why the quality section is missing although dialogues were made (e.g. no training split). */
  qualityError?: string;
}

/** Models under which the pipeline's `audit` step stores the labeller's scores. */
const LABELLER = { CHECKED: 'labeller', RAW: 'labeller-raw' } as const;

/** The label audit (config `audit`): the generation LLM's labeller against human gold. */
function labelAuditMarkdown(d: ReportData): string[] {
  const rows = d.scores.filter((s) => s.model === LABELLER.CHECKED);
  if (!rows.length) return [];
  const lines = [
    '## Label accuracy of the generation LLM (label audit on real dialogues)',
    '',
    '| convention | data | JGA raw labeller | JGA after checks | slot F1 after checks | turns |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const c of rows) {
    const raw = d.scores.find(
      (s) => s.model === LABELLER.RAW && s.convention === c.convention && s.dataset === c.dataset,
    );
    lines.push(
      `| ${c.convention} | ${c.dataset ?? '–'}/${c.split ?? '–'} | ${pct(raw?.jga)} | ${pct(c.jga)} | ${pct(c.slotF1)} | ${c.turns} |`,
    );
  }
  return [...lines, ''];
}

/** Sample generated dialogues near the top: what the numbers below are about. */
function samplesMarkdown(d: ReportData): string[] {
  const samples = d.quality?.samples ?? [];
  if (!samples.length) return [];
  return [
    '## Sample dialogues (generated, with the state after each user turn)',
    '',
    ...samples.flatMap((s) => sampleMarkdown(s).map((l) => l.replace(/^#### /, '### Sample '))),
  ];
}

const pct = (x: number | undefined) => (x === undefined ? '–' : (100 * x).toFixed(2));

/** A model's score on the run's main test set (`d.test`; a model may be scored on several). */
function score(d: ReportData, model: string, convention: string) {
  return d.scores.find(
    (s) =>
      s.model === model &&
      s.convention === convention &&
      (s.dataset === undefined || `${s.dataset}/${s.split}` === d.test),
  );
}

function conventions(d: ReportData): string[] {
  return [...new Set(d.scores.map((s) => s.convention))];
}

/** Baseline vs two-stage by model name (reports written before the experiment matrix). */
function resultsWithoutMatrix(d: ReportData): string[] {
  const lines = [
    '| convention | empty-state JGA | baseline JGA | two-stage JGA | Δ | baseline slot F1 | two-stage slot F1 | turns |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of conventions(d)) {
    const b = score(d, 'baseline', c);
    const t = score(d, 'stage2', c);
    const delta = b && t ? (100 * (t.jga - b.jga)).toFixed(2) : '–';
    lines.push(
      `| ${c} | ${pct(b?.emptyStateJga ?? t?.emptyStateJga)} | ${pct(b?.jga)} | ${pct(t?.jga)} | ${delta} | ${pct(b?.slotF1)} | ${pct(t?.slotF1)} | ${b?.turns ?? t?.turns ?? '–'} |`,
    );
  }
  lines.push(
    '',
    '### Per-domain JGA % (baseline → two-stage)',
    '',
    `| convention | ${TRACKED_DOMAINS.join(' | ')} |`,
    `|---|${TRACKED_DOMAINS.map(() => '---:').join('|')}|`,
  );
  for (const c of conventions(d)) {
    const b = score(d, 'baseline', c);
    const t = score(d, 'stage2', c);
    lines.push(
      `| ${c} | ${TRACKED_DOMAINS.map((dom) => `${pct(b?.perDomain[dom]?.jga)} → ${pct(t?.perDomain[dom]?.jga)}`).join(' | ')} |`,
    );
  }
  lines.push(
    '',
    `### The paper (${PAPER.model}), for reference`,
    '',
    '| setting | real only | two-stage |',
    '|---|---:|---:|',
  );
  for (const r of PAPER.rows)
    lines.push(`| ${r.setting} | ${r.baseline.toFixed(2)} | ${r.twoStage.toFixed(2)} |`);
  return lines;
}

/**
 * One sentence on what the headline numbers do and do not show, from the first convention's
 * scores: the baseline against the empty-state floor, and the two-stage difference against
 * the noise of one seed on this many turns (two binomial standard errors of the baseline).
 */
export function resultsReading(d: ReportData): string | undefined {
  const c = conventions(d)[0];
  const b = c ? score(d, 'baseline', c) : undefined;
  if (!c || !b || b.emptyStateJga === undefined) return undefined;
  const p = (x: number) => `${(100 * x).toFixed(1)} %`;
  const floor = b.emptyStateJga;
  const learned =
    b.jga > floor + 0.01
      ? `The real-only model gets ${p(b.jga)} of the ${b.turns} test turns' whole state right (${c}), ${(b.jga / Math.max(floor, 1e-9)).toFixed(1)}× the ${p(floor)} of always answering the empty state: it tracks part of the task.`
      : `The real-only model's ${p(b.jga)} is at the level of always answering the empty state (${p(floor)} of ${b.turns} test turns, ${c}): it has learned the output format, not yet the task; a longer training budget moves it.`;
  const t = score(d, 'stage2', c);
  if (!t) return learned;
  const noise = 2 * Math.sqrt(Math.max(b.jga * (1 - b.jga), 1 / b.turns) / b.turns);
  const diff = t.jga - b.jga;
  const gen = d.generation.dialogues;
  const verdict =
    Math.abs(diff) <= noise
      ? `within ±${(100 * noise).toFixed(1)} points, the noise of one seed on ${b.turns} turns: it neither shows nor rules out a gain from the ${gen} generated dialogues`
      : `beyond the ±${(100 * noise).toFixed(1)} points the ${b.turns} test turns alone explain, but it is one training run per model, and short runs vary more than that from seed to seed; with ${gen} generated dialogues in stage 1 (the paper's has thousands) it is not evidence for the method: \`bench/dst-cpu.sh --lowres\` measures it over seeds`;
  return `${learned} The two-stage model differs by ${(100 * diff).toFixed(1)} points, ${verdict}.`;
}

/** In place of the quality section when it could not be computed: the reason, not silence. */
function qualityErrorMarkdown(error: string): string[] {
  return ['## Data quality (generated vs real training split)', '', `Not computed: ${error}`, ''];
}

/** Markdown tables: the headline comparison a paper would print. */
export function reportMarkdown(d: ReportData): string {
  const g = d.generation;
  const lines = [
    `# dst-synth run ${d.runId} (${d.name})`,
    '',
    `Status: ${d.status}. Test data: ${d.test}. Generated ${d.generatedAt}.`,
    '',
    ...samplesMarkdown(d),
    ...labelAuditMarkdown(d),
    '## Data made',
    '',
    '| goals | done | accepted | rejected | acceptance | dialogues | turns | LLM calls | tokens (prompt + completion) | cost (USD) | LLM |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    `| ${g.goals} | ${g.done} | ${g.accepted} | ${g.rejected} | ${g.done ? ((100 * g.accepted) / g.done).toFixed(1) + '%' : '–'} | ${g.dialogues} | ${g.turns} | ${g.calls} | ${g.promptTokens} + ${g.completionTokens} | ${g.costUsd.toFixed(4)} | ${g.model} |`,
    '',
    'Rejected goals by reason: ' +
      (Object.entries(g.reasons)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ') || 'none'),
    '',
    ...(d.quality ? qualityMarkdown(d.quality) : []),
    ...(d.qualityError ? qualityErrorMarkdown(d.qualityError) : []),
    '## Results (JGA %, slot F1 %)',
    '',
  ];
  if (d.matrix) lines.push(...matrixMarkdown(d.matrix, d.scores, conventions(d)));
  else lines.push(...resultsWithoutMatrix(d));
  const reading = resultsReading(d);
  if (reading) lines.push('', `What these numbers show: ${reading}`);
  lines.push(
    '',
    '## Training',
    '',
    '| model | init | status | steps | final train loss |',
    '|---|---|---|---:|---:|',
  );
  for (const m of d.models)
    lines.push(
      `| ${m.name} | ${m.init} | ${m.status} | ${m.steps ?? '–'} | ${m.trainLoss?.toFixed(4) ?? '–'} |`,
    );
  lines.push('', '## Training files', '', '| file | dialogues | examples | sha256 |', '|---|---:|---:|---|');
  for (const f of d.datasets)
    lines.push(`| ${f.name} | ${f.dialogues} | ${f.examples} | \`${f.sha256.slice(0, 16)}…\` |`);
  return lines.join('\n') + '\n';
}

// Numbers align right; text (utterances, states) reads better left-aligned.
const NUMERIC = /^[\d\s.,%+\-–→()]*$/;
const cellHtml = (c: string) => (NUMERIC.test(c) ? `<td>${esc(c)}</td>` : `<td class="t">${esc(c)}</td>`);

function mdTableToHtml(md: string): string {
  // The Markdown tables are the single source; render them as HTML tables.
  const out: string[] = [];
  let table: string[][] | undefined;
  const flush = () => {
    if (!table) return;
    const [head, , ...rows] = table;
    out.push(
      `<table><thead><tr>${head!.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cellHtml).join('')}</tr>`).join('')}</tbody></table>`,
    );
    table = undefined;
  };
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) {
      (table ??= []).push(
        line
          .slice(1, -1)
          .split('|')
          .map((c) => c.trim().replace(/`/g, '')),
      );
      continue;
    }
    flush();
    if (line.startsWith('### ')) out.push(`<h3>${esc(line.slice(4))}</h3>`);
    else if (line.startsWith('## ')) out.push(`<h2>${esc(line.slice(3))}</h2>`);
    else if (line.startsWith('# ')) out.push(`<h1>${esc(line.slice(2))}</h1>`);
    else if (line.trim()) out.push(`<p>${esc(line)}</p>`);
  }
  flush();
  return out.join('\n');
}

/** One self-contained HTML page: the Markdown tables plus inline SVG charts. */
export function reportHtml(d: ReportData): string {
  const convs = conventions(d);
  const jga = barChart(
    'JGA % by convention',
    convs,
    ['baseline', 'stage2'].map((m) => ({
      name: m === 'stage2' ? 'two-stage' : 'baseline (real only)',
      values: convs.map((c) => 100 * (score(d, m, c)?.jga ?? 0)),
    })),
    560,
    260,
    { max: 100, unit: '%' },
  );
  const loss = lineChart(
    'Training loss',
    d.models.map((m) => ({ name: m.name, points: m.curve.map((p) => ({ x: p.step, y: p.loss })) })),
  );
  const reasons = Object.entries(d.generation.reasons);
  const rej = reasons.length
    ? barChart(
        'Rejected goals by reason',
        reasons.map(([r]) => r),
        [{ name: 'goals', values: reasons.map(([, n]) => n) }],
      )
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dst-synth ${esc(d.runId)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}h1{font-size:1.5em}td.t{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:12px}</style>
</head><body>
${mdTableToHtml(reportMarkdown(d))}
<h2>Charts</h2><div class="charts">${jga}${loss}${rej}</div>
</body></html>
`;
}
