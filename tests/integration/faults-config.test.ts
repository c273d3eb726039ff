/**
 * Fault: bad values in `run --config` (issue 17). Each bad config must stop `run` with one
 * message naming the setting before anything starts — with `--dry-run` and without it (there,
 * before the plan is printed, the LLM is checked or Temporal is reached: both point at dead
 * ports here, so a config that slipped through would fail with a different message).
 */
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import catalog from '../../models/catalog.json';
import { REPO, spawnCli } from '../helpers/cli';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-faults-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The parts of examples/tiny-cpu.json the cases change. */
interface RawConfig {
  generation: { goals: number; llm: unknown };
  data: { realLimit?: number };
  training: { init?: string };
  experiments?: unknown[];
}
const base = () => JSON.parse(readFileSync(path.join(REPO, 'examples/tiny-cpu.json'), 'utf8')) as RawConfig;

function config(name: string, edit: (c: RawConfig) => void): string {
  const c = base();
  // An endpoint that answers nothing: a config that passed validation would stop at the preflight.
  c.generation.llm = { provider: 'openai', model: 'm', baseURL: 'http://127.0.0.1:9/v1' };
  edit(c);
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(c));
  return file;
}

/** A file named like a catalogued GGUF, starting "GGUF", of `bytes` (sparse: cheap to make). */
function fakeGguf(sub: string, bytes: number): string {
  const file = path.join(dir, sub, catalog['smollm2-135m-instruct'].file);
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, 'w');
  writeSync(fd, Buffer.from('GGUF'));
  ftruncateSync(fd, bytes);
  closeSync(fd);
  return file;
}

async function run(file: string, dryRun: boolean) {
  const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:9', OPENAI_API_KEY: 'none' };
  const c = spawnCli(['run', '--config', file, ...(dryRun ? ['--dry-run'] : [])], env);
  return { code: await c.exited, out: c.output() };
}

/** `real`: also without --dry-run (each CLI start costs seconds on 2 cores, so only where the
 * check is new: the schema's errors come from the same loadPipelineConfig on both paths). */
const cases: Array<{ name: string; file: () => string; want: RegExp; real?: boolean }> = [
  {
    name: 'an unknown experiment name',
    file: () => config('experiment', (c) => (c.experiments = [{ train: 'replace-spa', stage1: true }])),
    want: /experiments\.0\.train: use real, real-k<k> or replace-<domain>/,
  },
  {
    name: 'a negative realLimit',
    file: () => config('real-limit', (c) => (c.data.realLimit = -5)),
    want: /data\.realLimit: Too small: expected number to be >0/,
  },
  {
    name: 'a negative goal count',
    file: () => config('goals', (c) => (c.generation.goals = -3)),
    want: /generation\.goals: Too small: expected number to be >0/,
  },
  {
    name: 'a model path that does not exist',
    file: () => config('missing-init', (c) => (c.training.init = './no-such-model')),
    want: /training\.init: \S+\/no-such-model does not exist/,
    real: true,
  },
  {
    name: 'a truncated init GGUF',
    file: () => config('short-gguf', (c) => (c.training.init = fakeGguf('short', 4096))),
    want: /training\.init: \S+\.gguf has 4096 bytes, not the 98362432 of its sha256 in models\/catalog\.json/,
  },
  {
    name: 'an init GGUF with the wrong hash',
    file: () =>
      config('bad-hash', (c) => (c.training.init = fakeGguf('hash', catalog['smollm2-135m-instruct'].bytes))),
    want: new RegExp(
      `training\\.init: \\S+\\.gguf has sha256 [0-9a-f]{64}, not the ${catalog['smollm2-135m-instruct'].sha256} of models/catalog\\.json`,
    ),
    real: true,
  },
];

test.each(cases)(
  '$name: one message, nothing started',
  async ({ file, want, real }) => {
    const f = file();
    for (const r of await Promise.all([run(f, true), ...(real ? [run(f, false)] : [])])) {
      expect(r.code).toBe(1);
      expect(r.out).toMatch(want);
      // One message: the one error line (zod's header and its single issue line), nothing else.
      const lines = r.out.trim().split('\n');
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(lines[0]).toMatch(/^dst-synth: /);
      expect(r.out).not.toMatch(/experiment matrix|LLM calls|started|preflight|ECONNREFUSED/);
    }
  },
  60_000,
);
