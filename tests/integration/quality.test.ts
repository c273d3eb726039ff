/**
 * `quality` on an exported folder (what `simulate --out` writes, from the loopback server's
 * scripted roles) and on the same dialogues as a generation run in a real PostgreSQL: both
 * print the same figures, beside the real 2.1 training split.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dialogues, generationAttempts, runs } from '../../db/schema';
import { loadDataset } from '../../multiwoz/loaders';
import type { Dialogue } from '../../multiwoz/types';
import { spawnCli } from '../helpers/cli';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';
import { scriptedRoles } from '../helpers/scripted-roles';

let server: LlmServer;
let pg: TestDatabase;
const out = mkdtempSync(path.join(os.tmpdir(), 'dst-quality-'));

beforeAll(async () => {
  [server, pg] = await Promise.all([startLlmServer({ responder: scriptedRoles() }), startTestDatabase()]);
  const env = { ...process.env, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: server.url };
  const sim = spawnCli(
    ['simulate', '--goals', '6', '--seed', '5', '--model', 'test-model', '--out', out],
    env,
  );
  expect(await sim.exited).toBe(0);
}, 180_000);
afterAll(async () => {
  await Promise.all([server.close(), pg.stop()]);
});

const lastJson = (text: string) =>
  JSON.parse(
    text
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1)!,
  ) as Record<string, unknown> & {
    generated: { dialogues: number; userTurns: number; avgUserTokens: number };
    real: { dialogues: number };
    samples: Array<{ id: string; turns: Array<{ speaker: string; state?: object }> }>;
    corrections: Record<string, number>;
  };

const jsonl = (file: string) =>
  readFileSync(path.join(out, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** The simulate folder's dialogues and attempts as a generation run's rows. */
async function storeAsRun(runId: string): Promise<void> {
  const { db } = pg.handle;
  await db.insert(runs).values({ id: runId, kind: 'generate', status: 'completed' });
  const made = await loadDataset({ source: path.join(out, 'multiwoz22') });
  await db.insert(dialogues).values(
    made.map((d: Dialogue) => ({
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
  const attempts: Array<Record<string, unknown> & { accepted: boolean }> = [
    ...jsonl('accepted.jsonl').map((a) => ({ ...a, accepted: true, attempt: 99, reason: null })),
    ...jsonl('rejected.jsonl').map((r) => ({ ...r, accepted: false })),
  ];
  if (attempts.length)
    await db.insert(generationAttempts).values(
      attempts.map((a) => ({
        runId,
        goalIndex: a.goal_index as number,
        attempt: a.attempt as number,
        accepted: a.accepted,
        reason: (a.reason as string | null) ?? null,
        failures: a.failures as never,
        turns: a.turns as never,
        ...usage,
      })),
    );
}

test('quality on an exported folder and on the same run in Postgres', async () => {
  const folder = spawnCli(['quality', out, '--json'], process.env);
  expect(await folder.exited).toBe(0);
  const q = lastJson(folder.output());
  expect(q.generated.dialogues).toBeGreaterThan(0);
  expect(q.generated.avgUserTokens).toBeGreaterThan(3);
  expect(q.real.dialogues).toBeGreaterThan(7000); // the 2.1 training split
  expect(q.samples.length).toBe(Math.min(3, q.generated.dialogues));
  const user = q.samples[0]!.turns.find((t) => t.speaker === 'USER');
  expect(user?.state).toBeDefined();

  await storeAsRun('gen-quality');
  const fromDb = spawnCli(['quality', 'gen-quality', '--json'], { ...process.env, DATABASE_URL: pg.url });
  expect(await fromDb.exited).toBe(0);
  const r = lastJson(fromDb.output());
  expect(r.source).toBe('gen-quality');
  expect({ ...r, source: out }).toEqual(q);

  const text = spawnCli(['quality', out], process.env);
  expect(await text.exited).toBe(0);
  expect(text.output()).toMatch(/user-turn length \(tokens\)\s+[\d.]+\s+[\d.]+/);
  expect(text.output()).toMatch(/domain combinations: \d+ generated, [\d.]+% of the \d+ real ones covered/);
  expect(text.output()).toMatch(/sample SYN5-\d+:\n {2}USER {3}/);
}, 240_000);
