import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedEnv, spawnCli } from '../helpers/cli';

const env = embeddedEnv(mkdtempSync(path.join(os.tmpdir(), 'dst-cli-')));
const COMMANDS = [
  'dev',
  'worker',
  'import',
  'download',
  'eval',
  'demo',
  'simulate',
  'validate',
  'generate',
  'status',
  'watch',
  'pause',
  'resume',
  'cancel',
  'run',
  'report',
];

async function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const p = spawnCli(args, { ...env, ...extraEnv });
  const code = await p.exited;
  return { code, out: p.output() };
}

test('every command has --help', async () => {
  const top = await run(['--help']);
  expect(top.code).toBe(0);
  for (const c of COMMANDS) expect(top.out).toContain(c);
  const helps = await Promise.all(COMMANDS.map((c) => run([c, '--help'])));
  helps.forEach((h, i) => {
    expect(h.code).toBe(0);
    expect(h.out).toContain(`Usage: dst-synth ${COMMANDS[i]}`);
  });
});

test('bad options give one clear line, not a stack trace', async () => {
  const bad = await run(['import', '--dataset', 'multiwoz99', '--source', '/nowhere', '--split', 'test']);
  expect(bad.code).toBe(1);
  expect(bad.out).toMatch(/--dataset/);
  expect(bad.out).not.toMatch(/\n\s+at /);
});

test('an invalid DATABASE_URL is named in the error', async () => {
  const r = await run(['worker'], { DATABASE_URL: 'mysql://nope' });
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/DATABASE_URL: must start with postgres/);
});
