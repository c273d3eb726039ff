/** README.md keeps up with the code: every CLI command is documented; no stale status. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/cli';

const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');

test('the command table names every command of `dst-synth --help`', () => {
  const help = spawnSync(process.execPath, [path.join(REPO, 'bin/dst-synth.js'), '--help'], {
    cwd: REPO,
    encoding: 'utf8',
  }).stdout;
  const commands = [...help.split('Commands:')[1]!.matchAll(/^ {2}([a-z][a-z-]*)/gm)]
    .map((m) => m[1]!)
    .filter((c) => c !== 'help');
  expect(commands).toEqual(expect.arrayContaining(['demo', 'run', 'report', 'watch']));
  // `status|watch|pause|cancel <run>` documents four commands in one row.
  const documented = new Set(
    [...readme.matchAll(/`npx dst-synth ([a-z-]+(?:\\\|[a-z-]+)*)/g)].flatMap((m) => m[1]!.split('\\|')),
  );
  const missing = commands.filter((c) => !documented.has(c));
  expect(missing).toEqual([]);
});

test('no stale status: training, the pipeline and the trainer exist', () => {
  expect(readme).not.toMatch(/come next/);
  expect(readme).not.toMatch(/\(reserved\)/);
});
