/**
 * Fault: the disk fills up while `dst-synth export` writes (issue 17), on a real tmpfs (as root;
 * skipped, saying why, where mount is refused). A first export fits; then the disk is filled
 * and the same export runs again over it: it must fail with one clear line, not leave the
 * earlier `summary.json` behind as if this export had completed, and once there is room the
 * rerun must write exactly the bytes of an export to a roomy disk. Real PostgreSQL; real
 * 2.1 test dialogues stand in for generated ones; the CLI as a child process.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dialogues, generationAttempts, generationGoals, runs } from '../../db/schema';
import { loadDataset } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';
import { SPEAKER, type Dialogue } from '../../multiwoz/types';
import { spawnCli } from '../helpers/cli';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';

const RUN = 'faults-disk-generate';
const GOALS = 40;
const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-faults-disk-'));
const mnt = path.join(dir, 'disk');
mkdirSync(mnt);

/** Mounts a 16 MB tmpfs at `mnt`; the reason when that is refused (not root, no CAP_SYS_ADMIN). */
function mountTmpfs(): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `mount -t tmpfs refused: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
}
const refused = mountTmpfs();
if (refused) console.warn(`faults-disk: skipped, ${refused}`);
const onTmpfs = refused ? test.skip : test;

let db: TestDatabase;

let real: Dialogue[];

beforeAll(async () => {
  db = await startTestDatabase();
  real = (
    await loadDataset({ dataset: 'multiwoz21', source: path.join(multiwozDir(), '2.1/test.json.zip') })
  ).slice(0, GOALS);
  await db.handle.db
    .insert(runs)
    .values({ id: RUN, kind: 'generate', status: 'completed', config: {} } as never);
}, 120_000);

/** Goals `from…to-1` of the run, each accepted at its first attempt. */
async function addGoals(from: number, to: number): Promise<void> {
  const h = db.handle.db;
  const usage = { calls: 20, promptTokens: 9000, completionTokens: 800, costUsd: 0.0125 };
  for (let i = from; i < to; i++) {
    const d = real[i]!;
    await h.insert(generationGoals).values({
      runId: RUN,
      goalIndex: i,
      goal: { index: i, domains: d.services } as never,
      status: 'accepted',
      attempts: 1,
      dialogueId: d.id,
      ...usage,
    });
    await h.insert(generationAttempts).values({
      runId: RUN,
      goalIndex: i,
      attempt: 1,
      accepted: true,
      failures: [] as never,
      turns: d.turns.map((t) => ({ speaker: t.speaker, text: t.utterance })) as never,
      ...usage,
    });
    await h.insert(dialogues).values({
      source: 'generated',
      dataset: 'generated',
      datasetVersion: RUN,
      split: 'train',
      dialogueId: d.id,
      runId: RUN,
      services: d.services,
      numUserTurns: d.turns.filter((t) => t.speaker === SPEAKER.USER).length,
      content: d as never,
      states: d.turns.flatMap((t) => (t.state ? [t.state] : [])),
    });
  }
}

afterAll(async () => {
  if (!refused) execFileSync('umount', ['-l', mnt]);
  await db?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function exportCli(out: string) {
  const c = spawnCli(['export', RUN, '--out', out], { ...process.env, DATABASE_URL: db.url });
  return { code: await c.exited, out: c.output() };
}

/** sha256 of every file under `root`, by relative path. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = path.join(rel, name);
      if (statSync(path.join(root, r)).isDirectory()) walk(r);
      else
        out[r] = createHash('sha256')
          .update(readFileSync(path.join(root, r)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

onTmpfs(
  'a full disk during export: one clear error, nothing reported done, the rerun completes',
  async () => {
    const roomy = path.join(dir, 'roomy');
    const out = path.join(mnt, 'export');
    // An export taken early in the run (10 goals), then the run's end (40): the second export
    // overwrites the first, so what it frees by truncating the old files is counted too.
    await addGoals(0, 10);
    expect((await exportCli(out)).code).toBe(0);
    const size = (root: string) =>
      Object.keys(tree(root)).reduce((n, f) => n + statSync(path.join(root, f)).size, 0);
    const early = size(out);
    await addGoals(10, GOALS);
    expect((await exportCli(roomy)).code).toBe(0);
    const whole = size(roomy);
    console.log(`faults-disk: exports of ${(early / 1e6).toFixed(2)} and ${(whole / 1e6).toFixed(2)} MB`);

    // Fill the disk so the second export (which frees the first one's files) runs out of room
    // two thirds of the way.
    const free = Number(execFileSync('df', ['--output=avail', '-B1', mnt]).toString().split('\n')[1]);
    const ballast = path.join(mnt, 'ballast');
    writeFileSync(ballast, Buffer.alloc(free + early - Math.floor((whole * 2) / 3)));
    const full = await exportCli(out);
    expect(full.code).toBe(1);
    expect(full.out).toMatch(
      new RegExp(
        `dst-synth: export to ${out} failed: no space left on device \\(ENOSPC\\) writing ${out}/\\S+; free space and run it again`,
      ),
    );
    console.log(`faults-disk: ${full.out.trim().split('\n').pop()}`);
    expect(full.out).not.toMatch(/written to|\n\s+at /);
    // The earlier export's summary.json would say this one completed.
    expect(existsSync(path.join(out, 'summary.json'))).toBe(false);

    rmSync(ballast);
    const again = await exportCli(out);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/40 goals, 40 accepted, 0 rejected, 0 pending/);
    expect(tree(out)).toEqual(tree(roomy));
  },
  120_000,
);
