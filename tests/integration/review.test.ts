/**
 * `dst-synth review` through the real CLI on the hand-made simulate folder
 * (tests/fixtures/review/sim): the page, Markdown and template are written, a filled verdict
 * file is never overwritten, `--verdicts` scores one, a malformed one is one clear line; and
 * the same folder stored as a generation run in Postgres gives the same review set.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dialogues, generationAttempts, generationGoals, runs } from '../../db/schema';
import { loadDataset } from '../../multiwoz/loaders';
import { reviewFromDb, reviewFromFolder } from '../../reporting/review-load';
import { spawnCli } from '../helpers/cli';
import { startTestDatabase } from '../helpers/postgres';

const FIXTURES = path.resolve(__dirname, '../fixtures/review');
const SIM = path.join(FIXTURES, 'sim');

async function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const p = spawnCli(['review', ...args], env);
  const code = await p.exited;
  return { code, out: p.output() };
}

const lastJson = (text: string) =>
  JSON.parse(
    text
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1)!,
  ) as Record<string, unknown>;

test('writes a review set, keeps a filled verdict file, scores one, rejects a malformed one', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'dst-review-cli-'));
  const [made, help] = await Promise.all([
    cli([SIM, '--sample', '2', '--seed', '1', '--out', out, '--json']),
    cli(['--help']),
  ]);
  expect(help.code).toBe(0);
  expect(help.out).toContain('Usage: dst-synth review');
  expect(help.out).toContain('--verdicts <file>');
  expect(made.code).toBe(0);
  const r = lastJson(made.out);
  expect(r).toMatchObject({ source: SIM, seed: 1, total: 3, dialogues: 2, verdictsKept: false });
  for (const f of ['review.html', 'review.md', 'verdicts.json'])
    expect(existsSync(path.join(out, f))).toBe(true);
  const template = JSON.parse(readFileSync(path.join(out, 'verdicts.json'), 'utf8')) as {
    dialogues: Array<{ turns: Array<{ label: string | null }> }>;
  };
  expect(template.dialogues).toHaveLength(2);

  // Someone's judgements survive a second run.
  template.dialogues[0]!.turns[0]!.label = 'right';
  writeFileSync(path.join(out, 'verdicts.json'), JSON.stringify(template));
  const again = await cli([SIM, '--sample', '2', '--out', out]);
  expect(again.code).toBe(0);
  expect(again.out).toContain('kept: it already holds judgements');
  expect(readFileSync(path.join(out, 'verdicts.json'), 'utf8')).toBe(JSON.stringify(template));

  const filled = path.join(FIXTURES, 'verdicts-filled.json');
  const malformed = path.join(FIXTURES, 'verdicts-malformed.json');
  const [json, text, bad] = await Promise.all([
    cli(['--verdicts', filled, '--json']),
    cli(['--verdicts', filled]),
    cli(['--verdicts', malformed]),
  ]);
  expect(json.code).toBe(0);
  expect(lastJson(json.out)).toMatchObject({
    file: filled,
    turns: { right: 6, wrong: 2, judged: 8, unjudged: 3, accuracy: 0.75 },
    acceptance: { accepted: 1, rejected: 1, unjudged: 1, rate: 0.5 },
    roleSwaps: { total: 2, judged: 2, perDialogue: 1, userTurns: 7 },
  });
  expect(text.out).toMatch(/turn labels right\s+75\.0%/);
  expect(text.out).toMatch(/role swaps per 100 user turns\s+28\.6/);
  expect(bad.code).toBe(1);
  expect(bad.out).toContain(`dst-synth: ${malformed}: not a review verdict file`);
  expect(bad.out).toContain('$.dialogues[0].turns[1].label: expected "right", "wrong" or null');
  expect(bad.out).not.toMatch(/\n\s+at /);
}, 120_000);

test('a generation run in Postgres gives the same review set as its exported folder', async () => {
  const pg = await startTestDatabase();
  try {
    const { db } = pg.handle;
    const runId = 'gen-review';
    await db.insert(runs).values({ id: runId, kind: 'generate', status: 'completed' });
    const made = await loadDataset({ source: path.join(SIM, 'multiwoz22') });
    const accepted = readFileSync(path.join(SIM, 'accepted.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { goal_index: number; id: string; failures: never; turns: never });
    await db.insert(generationGoals).values(
      accepted.map((a) => ({
        runId,
        goalIndex: a.goal_index,
        goal: {} as never,
        status: 'accepted' as const,
        dialogueId: a.id,
      })),
    );
    await db.insert(dialogues).values(
      made.map((d) => ({
        source: 'generated' as const,
        dataset: 'generated',
        datasetVersion: runId,
        split: 'train',
        dialogueId: d.id,
        runId,
        services: d.services,
        numUserTurns: d.turns.filter((t) => t.speaker === 'USER').length,
        content: d,
        states: d.turns.filter((t) => t.speaker === 'USER').map((t) => t.state ?? {}),
      })),
    );
    const usage = { calls: 1, promptTokens: 1, completionTokens: 1, costUsd: 0 };
    await db.insert(generationAttempts).values(
      accepted.map((a) => ({
        runId,
        goalIndex: a.goal_index,
        attempt: 1,
        accepted: true,
        reason: null,
        failures: a.failures,
        turns: a.turns,
        ...usage,
      })),
    );
    for (const sample of [2, 20]) {
      const fromDb = await reviewFromDb(db, runId, { sample, seed: 1 });
      const fromFolder = await reviewFromFolder(SIM, { sample, seed: 1 });
      expect(fromDb.source).toBe(runId);
      expect({ ...fromDb, source: SIM }).toEqual(fromFolder);
    }
  } finally {
    await pg.stop();
  }
}, 120_000);
