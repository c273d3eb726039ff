/**
 * The run report: Markdown tables, a self-contained HTML page, and a screenshot of that
 * page in headless Chromium (Debian package, installed by `scripts/setup.sh --test`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDataset } from '../../multiwoz/loaders';
import { loadOntology } from '../../multiwoz/ontology';
import { multiwozDir } from '../../multiwoz/paths';
import { computeQuality } from '../../reporting/quality';
import { reportHtml, reportMarkdown, resultsReading, type ReportData } from '../../reporting/report';

const perDomain = (j: number) => ({
  restaurant: { jga: j + 0.05, turns: 40 },
  hotel: { jga: j - 0.03, turns: 38 },
  train: { jga: j + 0.08, turns: 30 },
});

const data: ReportData = {
  runId: 'tiny-cpu-demo-20261125',
  name: 'tiny-cpu-demo',
  status: 'completed',
  generatedAt: '2026-11-25T20:00:00.000Z',
  generation: {
    runId: 'tiny-cpu-demo-20261125-generate',
    goals: 6,
    done: 6,
    accepted: 5,
    rejected: 1,
    reasons: { domain_cap_exceeded: 1 },
    dialogues: 5,
    turns: 41,
    calls: 152,
    promptTokens: 61522,
    completionTokens: 4228,
    costUsd: 0,
    model: 'local:qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
  },
  datasets: [
    { name: 'generated', dialogues: 5, examples: 41, sha256: 'a'.repeat(64) },
    { name: 'real', dialogues: 150, examples: 1040, sha256: 'b'.repeat(64) },
  ],
  models: ['baseline', 'stage1', 'stage2'].map((name, i) => ({
    name,
    init: name === 'stage2' ? 'data/runs/x/models/stage1' : 'tiny',
    status: 'trained',
    steps: 40,
    trainLoss: 2 - i * 0.3,
    curve: Array.from({ length: 40 }, (_, s) => ({ step: s + 1, loss: 6 / (1 + s / 5) + i * 0.1 })),
  })),
  scores: ['trade', 'sgd', 'luas'].flatMap((convention, c) => [
    {
      model: 'baseline',
      convention,
      jga: 0.12 + c * 0.01,
      slotAccuracy: 0.9,
      slotF1: 0.4,
      turns: 290,
      perDomain: perDomain(0.12),
    },
    {
      model: 'stage2',
      convention,
      jga: 0.15 + c * 0.01,
      slotAccuracy: 0.92,
      slotF1: 0.45,
      turns: 290,
      perDomain: perDomain(0.15),
    },
  ]),
  test: 'multiwoz21/test',
};

/** With the label audit's scores and the quality section (real dialogues standing in for generated ones). */
let full: ReportData;
beforeAll(async () => {
  const real = await loadDataset({ source: path.join(multiwozDir(), '2.1/test.json.zip') });
  const quality = computeQuality({
    generated: real.slice(0, 6),
    real: real.slice(6, 200),
    ontology: loadOntology(),
    rejections: { domain_cap_exceeded: 1 },
    corrections: { not_mentioned: 4 },
  });
  const audit = (model: string, jga: number) => ({
    model,
    convention: 'trade',
    jga,
    slotAccuracy: 0.95,
    slotF1: 0.6,
    turns: 158,
    perDomain: {},
    dataset: 'multiwoz21',
    split: 'test',
  });
  full = { ...data, scores: [...data.scores, audit('labeller', 0.25), audit('labeller-raw', 0.1)], quality };
});

test('Markdown: sample dialogues near the top, the label audit, the quality section', () => {
  const md = reportMarkdown(full);
  const at = (s: string) => md.indexOf(s);
  expect(at('## Sample dialogues')).toBeGreaterThan(0);
  expect(at('## Sample dialogues')).toBeLessThan(at('## Data made'));
  expect(md.match(/^### Sample /gm)).toHaveLength(3);
  // A user row carries the state after that turn.
  expect(md).toMatch(/^\| USER \| .+ \| \S+=\S+.* \|$/m);
  expect(md).toContain('| trade | multiwoz21/test | 10.00 | 25.00 | 60.00 | 158 |');
  expect(md).toContain('## Data quality (generated vs real training split)');
  expect(md).toMatch(/\| dialogues \| 6 \| 194 \|/);
  expect(md).toContain('not_mentioned 4');
  // Labeller scores are not models of the results tables.
  expect(md).not.toMatch(/\| labeller \|/);
});

test('JGA chart: a 0–100 % axis, so small scores stay small', () => {
  const html = reportHtml(full);
  const chart = html.slice(html.indexOf('aria-label="JGA % by convention"'));
  const svg = chart.slice(0, chart.indexOf('</svg>'));
  expect(svg).toContain('>100%<');
  expect(svg).toContain('>50%<');
  // Bar heights are value / 100 of the plot height (260 - 24 - 40 = 196 px).
  const heights = [...svg.matchAll(/<rect [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
  expect(Math.max(...heights)).toBeCloseTo(0.17 * 196, 0);
});

test('Markdown: data made, results per convention and domain, the paper, training', () => {
  const md = reportMarkdown(data);
  expect(md).toContain('| 6 | 6 | 5 | 1 | 83.3% | 5 | 41 | 152 |');
  expect(md).toContain('| trade | – | 12.00 | 15.00 | 3.00 | 40.00 | 45.00 | 290 |');
  expect(md).toContain('| MultiWOZ 2.4, 1k real | 64.60 | 69.69 |');
  expect(md).toContain('domain_cap_exceeded 1');
  expect(md).toMatch(/\| stage2 \| data\/runs\/x\/models\/stage1 \| trained \| 40 \|/);
});

test('the results say what they show: the baseline against the empty-state floor, the difference against noise', () => {
  const withFloor = (floor: number, stage2: number): ReportData => ({
    ...data,
    scores: data.scores.map((s) => ({
      ...s,
      emptyStateJga: floor,
      jga: s.model === 'stage2' ? stage2 : s.jga,
    })),
  });
  // Baseline 12 % on 290 turns against a 1 % floor; two-stage 13 %: within 2 s.e. (±3.8 points).
  const r = resultsReading(withFloor(0.01, 0.13))!;
  expect(r).toContain('12.0 % of the 290 test turns');
  expect(r).toContain('12.0× the 1.0 %');
  expect(r).toMatch(
    /differs by 1\.0 points, within ±3\.8 points.* neither shows nor rules out a gain from the 5 generated dialogues/,
  );
  expect(reportMarkdown(withFloor(0.01, 0.13))).toContain('| trade | 1.00 | 12.00 | 13.00 |');
  // At the floor: the format, not the task; a large difference is still one seed.
  const flat = resultsReading(withFloor(0.115, 0.25))!;
  expect(flat).toContain('at the level of always answering the empty state');
  expect(flat).toMatch(/beyond the ±3\.8 points.* seed to seed.*not evidence for the method/);
  expect(resultsReading(data)).toBeUndefined(); // reports written before the floor was stored
});

test('HTML is self-contained (inline SVG charts, no external resources)', () => {
  const html = reportHtml(data);
  expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(3);
  expect(html).not.toMatch(/(src|href)=["']?https?:/);
  expect(html).toContain('<table>');
});

test('renders in headless Chromium (screenshot)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-report-'));
  const page = path.join(dir, 'report.html');
  const blank = path.join(dir, 'blank.html');
  writeFileSync(page, reportHtml(full));
  writeFileSync(blank, '<!doctype html><html><body></body></html>');
  const shot = (file: string, png: string) =>
    execFileSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        `--screenshot=${png}`,
        '--window-size=1000,1600',
        `file://${file}`,
      ],
      { stdio: 'pipe', timeout: 60_000 },
    );
  shot(page, path.join(dir, 'report.png'));
  shot(blank, path.join(dir, 'blank.png'));
  const png = readFileSync(path.join(dir, 'report.png'));
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  // A page with tables and charts compresses far worse than an empty one.
  expect(statSync(path.join(dir, 'report.png')).size).toBeGreaterThan(
    5 * statSync(path.join(dir, 'blank.png')).size,
  );
}, 90_000);
