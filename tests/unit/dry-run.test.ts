/** `dst-synth run --config <file> --dry-run [--json]`: the matrix, nothing started. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { REPO } from '../helpers/cli';

// No Temporal and no database: point both at a closed port, so any connection attempt fails.
const env = {
  ...process.env,
  TEMPORAL_ADDRESS: '127.0.0.1:1',
  DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
};
const cli = (...args: string[]) =>
  execFileSync(process.execPath, [path.join(REPO, 'bin/dst-synth.js'), 'run', ...args], {
    cwd: REPO,
    env,
    encoding: 'utf8',
  });

test('examples/llama2-7b.json: the paper matrix as text', () => {
  const out = cli('--config', 'examples/llama2-7b.json', '--dry-run');
  expect(out).toContain('dry run: nothing is started');
  expect(out).toContain('experiments (13)');
  expect(out).toContain('models to train (14)');
  expect(out).toMatch(/ 1\. stage1 +on generated +from meta-llama\/Llama-2-7b-hf/);
  expect(out).toMatch(/14\. stage2\.multiwoz24\.real-k1000 +on multiwoz24\.real-k1000 +from stage1/);
  expect(out).toMatch(/real-k1000 +≤ 1000/);
}, 60_000);

test('--json prints one object with sets, experiments, trainings, evaluations', () => {
  const m = JSON.parse(cli('--config', 'examples/llama2-7b.json', '--dry-run', '--json')) as {
    sets: Array<{ name: string; dialogues: number }>;
    experiments: Array<{ kind: string }>;
    trainings: Array<{ order: number; model: string; init: string }>;
    evaluations: unknown[];
  };
  expect(new Set(m.experiments.map((e) => e.kind))).toEqual(
    new Set(['all-real', 'k-real', 'domain-replacement']),
  );
  expect(m.trainings[0]).toMatchObject({ order: 1, model: 'stage1', init: 'meta-llama/Llama-2-7b-hf' });
  expect(m.trainings.filter((t) => t.init === 'stage1')).toHaveLength(4);
  expect(m.sets.find((s) => s.name === 'generated')?.dialogues).toBe(7556);
  expect(m.evaluations).toHaveLength(13);
}, 60_000);

test('examples/paper-matrix-cpu.json has all three experiment kinds', () => {
  const out = cli('--config', 'examples/paper-matrix-cpu.json', '--dry-run');
  for (const t of ['all real vs generated', 'k real dialogues', 'domain replacement'])
    expect(out).toContain(t);
}, 60_000);
