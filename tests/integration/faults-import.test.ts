/**
 * Fault: corrupt input to `dst-synth import` (issue 17) — a truncated zip, a JSON file cut
 * mid-dialogue, and a MultiWOZ file with one malformed dialogue among good ones. Each must fail
 * with one line naming the file (and the dialogue where there is one), import nothing, and a
 * rerun after the file is fixed must import every dialogue exactly once. Real Temporal dev
 * server, Postgres and worker; the CLI as a child process.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { sql } from 'drizzle-orm';
import { multiwozDir } from '../../multiwoz/paths';
import { spawnCli } from '../helpers/cli';
import { startTestServices, type TestServices } from '../helpers/services';

let services: TestServices;
/** The first 24 dialogues of the real 2.1 test split, as a data.json-layout object. */
let real: Record<string, { goal: unknown; log: Array<{ text: string; metadata?: unknown }> }>;
const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-faults-import-'));

beforeAll(async () => {
  const zip = new AdmZip(path.join(multiwozDir(), '2.1/test.json.zip'));
  const all = JSON.parse(zip.readAsText('test.json')) as typeof real;
  real = Object.fromEntries(Object.entries(all).slice(0, 24));
  services = await startTestServices({ apiKey: 'sk-faults-import', workers: true });
}, 180_000);

afterAll(async () => {
  await services?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Six dialogues per case, so each case's counts are its own. */
const slice = (k: number) => Object.fromEntries(Object.entries(real).slice(6 * k, 6 * k + 6));
const text = (o: unknown) => JSON.stringify(o, null, 1);

async function importCli(source: string) {
  const c = spawnCli(
    ['import', '--dataset', 'multiwoz21', '--source', source, '--split', 'test'],
    services.cliEnv(),
  );
  return { code: await c.exited, out: c.output() };
}

/** Rows of these dialogue ids under any dataset version (a half import would show here). */
async function stored(ids: string[]) {
  const r = await services.db.handle.db.execute<{ n: string }>(
    sql`select count(*) as n from dialogues where source = 'real' and dialogue_id in ${sql.raw(`(${ids.map((i) => `'${i}'`).join(',')})`)}`,
  );
  return Number(r.rows[0]!.n);
}

/** The failing import, the same nothing-stored check, then the fixed file imported exactly once. */
async function failThenFix(file: string, want: RegExp, ids: string[], fix: () => void) {
  const bad = await importCli(file);
  expect(bad.code).toBe(1);
  expect(bad.out).toMatch(want);
  // One message line after the start line, not a stack.
  expect(
    bad.out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('dst-synth: ')),
  ).toHaveLength(1);
  expect(bad.out).not.toMatch(/\n\s+at /);
  expect(await stored(ids)).toBe(0);
  fix();
  const good = await importCli(file);
  expect(good.code).toBe(0);
  expect(good.out).toMatch(/imported 6 dialogues: 6 new, 0 already present/);
  const again = await importCli(file);
  expect(again.out).toMatch(/imported 6 dialogues: 0 new, 6 already present/);
  expect(await stored(ids)).toBe(6);
}

test('a truncated zip: the archive named, nothing imported; the whole zip imports once', async () => {
  const good = path.join(dir, 'zip-good.zip');
  const z = new AdmZip();
  z.addFile('test.json', Buffer.from(text(slice(0))));
  z.writeZip(good);
  const sub = path.join(dir, 'zip');
  mkdirSync(sub);
  const file = path.join(sub, 'test.json.zip');
  const bytes = readFileSync(good);
  writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const ids = Object.keys(slice(0));
  await failThenFix(
    file,
    new RegExp(`dst-synth: .*${file.replace(/[.]/g, '\\.')}: not a readable zip archive`),
    ids,
    () => copyFileSync(good, file),
  );
}, 120_000);

test('a JSON file cut mid-dialogue: the file and that dialogue named, nothing imported', async () => {
  const whole = text(slice(1));
  const ids = Object.keys(slice(1));
  // Cut inside the fourth dialogue's log.
  const fourth = whole.indexOf(`"${ids[3]}"`);
  const file = path.join(dir, 'cut', 'test.json');
  mkdirSync(path.dirname(file));
  writeFileSync(file, whole.slice(0, fourth + 400));
  await failThenFix(
    file,
    new RegExp(
      `dst-synth: .*${file.replace(/[.]/g, '\\.')}: dialogue ${ids[3]}: invalid JSON \\(the file ends inside it`,
    ),
    ids,
    () => writeFileSync(file, whole),
  );
}, 120_000);

test('one malformed dialogue among good ones: the file and the dialogue named, none of the good ones imported', async () => {
  const good = slice(2);
  const ids = Object.keys(good);
  const broken = structuredClone(good);
  // The fifth dialogue loses a system turn's text (a hand edit gone wrong).
  delete (broken[ids[4]!]!.log[1] as { text?: string }).text;
  const file = path.join(dir, 'one-bad', 'test.json');
  mkdirSync(path.dirname(file));
  writeFileSync(file, text(broken));
  await failThenFix(
    file,
    new RegExp(`dst-synth: .*${file.replace(/[.]/g, '\\.')}: dialogue ${ids[4]}: log\\.1\\.text: `),
    ids,
    () => writeFileSync(file, text(good)),
  );
}, 120_000);

test('a file fixed in place after an import: the rerun stores the fixed content, not the earlier parse', async () => {
  const good = slice(3);
  const ids = Object.keys(good);
  const file = path.join(dir, 'fixed', 'test.json');
  mkdirSync(path.dirname(file));
  writeFileSync(file, text(good));
  expect((await importCli(file)).out).toMatch(/imported 6 dialogues: 6 new, 0 already present/);
  // A typo fixed in the second dialogue's first user turn: a new dataset version.
  const fixed = structuredClone(good);
  fixed[ids[1]!]!.log[0]!.text = 'FIXED: ' + fixed[ids[1]!]!.log[0]!.text;
  writeFileSync(file, text(fixed));
  const rerun = await importCli(file);
  expect(rerun.out).toMatch(/imported 6 dialogues: 6 new, 0 already present/);
  const version = /version (\w+)\)/.exec(rerun.out)![1]!;
  const r = await services.db.handle.db.execute<{ u: string }>(
    sql`select content->'turns'->0->>'utterance' as u from dialogues
         where dataset_version = ${version} and dialogue_id = ${ids[1]!}`,
  );
  expect(r.rows.map((x) => x.u)).toEqual([fixed[ids[1]!]!.log[0]!.text]);
}, 120_000);
