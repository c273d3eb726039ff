/**
 * The run report: Markdown tables, a self-contained HTML page, and a screenshot of that
 * page in headless Chromium (Debian package, installed by `scripts/setup.sh --test`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { reportHtml, reportMarkdown, type ReportData } from '../../reporting/report';

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
    model: 'local:gemma-3-270m-q4_k_m.gguf',
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

test('Markdown: data made, results per convention and domain, the paper, training', () => {
  const md = reportMarkdown(data);
  expect(md).toContain('| 6 | 6 | 5 | 1 | 83.3% | 5 | 41 | 152 |');
  expect(md).toContain('| trade | 12.00 | 15.00 | 3.00 | 40.00 | 45.00 | 290 |');
  expect(md).toContain('| MultiWOZ 2.4, 1k real | 64.60 | 69.69 |');
  expect(md).toContain('domain_cap_exceeded 1');
  expect(md).toMatch(/\| stage2 \| data\/runs\/x\/models\/stage1 \| trained \| 40 \|/);
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
  writeFileSync(page, reportHtml(data));
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
