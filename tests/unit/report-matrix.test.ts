/** The report's experiment-matrix tables (`reporting/matrix.ts`). */
import path from 'node:path';
import { loadPipelineConfig } from '../../client/pipeline';
import { matrixMarkdown, type MatrixScore } from '../../reporting/matrix';
import { planMatrix } from '../../training/matrix';

const plan = planMatrix(loadPipelineConfig(path.join(__dirname, '../../examples/llama2-7b.json')));

// Scores made up for the layout only: 0.60 for every real-only model, 0.62 after stage 1.
const scores: MatrixScore[] = plan.evaluations.flatMap((e) =>
  ['luas', 'trade'].map((convention) => ({
    model: e.model,
    dataset: e.test.dataset,
    split: e.test.split,
    convention,
    jga: e.model.startsWith('stage2') ? 0.62 : e.model.includes('replace-') ? 0.59 : 0.6,
    turns: 7372,
    perDomain: { hotel: { jga: 0.5, turns: 100 } },
  })),
);

test('one table per experiment kind, with the paper beside', () => {
  const md = matrixMarkdown(plan, scores, ['luas', 'trade']).join('\n');
  expect(md).toContain('### All real vs generated → real (two-stage), JGA %');
  expect(md).toContain('### k real dialogues');
  expect(md).toContain('### Domain replacement');
  expect(md).toContain('| multiwoz22 (test) | luas | – | 60.00 | 62.00 | +2.00 | 65.42 | 66.25 | 7372 |');
  expect(md).toContain(
    '| multiwoz24 (multiwoz24.test) | trade | – | 60.00 | 62.00 | +2.00 | 77.20 | 78.20 | 7372 |',
  );
  expect(md).toContain('| multiwoz24 | 1000 | trade | 60.00 | 62.00 | +2.00 | 64.60 | 69.69 |');
  expect(md).toContain('| multiwoz22 | hotel | no | trade | 60.00 | 59.00 | -1.00 | 50.00 → 50.00 |');
  expect(md).toContain('Mean Δ over 5 replaced domain(s), multiwoz22, trade: -1.00 JGA points.');
  expect(md).toContain('on average 0.75 JGA points on MultiWOZ 2.2');
});

test('a matrix without k-real or replacement prints only the all-real table', () => {
  const c = loadPipelineConfig(path.join(__dirname, '../../examples/tiny-cpu.json'));
  const md = matrixMarkdown(planMatrix({ ...c, experiments: undefined }), [], ['trade']).join('\n');
  expect(md).toContain('### All real vs generated');
  expect(md).not.toContain('### k real');
  expect(md).not.toContain('### Domain replacement');
});
