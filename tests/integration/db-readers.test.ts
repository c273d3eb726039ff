/**
 * Readers of Postgres shared by activities and the report: the run totals query and "the
 * newest import" of a split, on a real (embedded) PostgreSQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEvaluateActivities } from '../../activities/evaluate';
import { generationTotals } from '../../db/run-totals';
import { newestImport } from '../../db/newest-import';
import { dialogues, generationGoals, runs } from '../../db/schema';
import type { Dialogue } from '../../multiwoz/types';
import { loadReportData } from '../../reporting/load';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';

let t: TestDatabase;
let tmp: string;
beforeAll(async () => {
  t = await startTestDatabase();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dst-readers-'));
});
afterAll(async () => {
  await t?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs `fn` as an activity would run (activities heartbeat, so they need a context). */
const inActivity = <R>(fn: () => Promise<R>) => new MockActivityEnvironment().run(fn) as Promise<R>;

const hotelIn = (id: string, area: string): Dialogue => ({
  id,
  services: ['hotel'],
  turns: [
    { speaker: 'USER', utterance: `a hotel in the ${area}`, state: { 'hotel-area': [area] } },
    { speaker: 'SYSTEM', utterance: 'I have several.' },
  ],
});

const row = (id: number, version: string, d: Dialogue) => ({
  id,
  source: 'real' as const,
  dataset: 'multiwoz24',
  datasetVersion: version,
  split: 'test',
  dialogueId: d.id,
  services: d.services,
  numUserTurns: 1,
  content: d,
  states: [d.turns[0]!.state!],
});

describe('newest import of a split', () => {
  beforeAll(async () => {
    // The newer import (higher row id) is stored first, so physical order and id order differ.
    await t.handle.db
      .insert(dialogues)
      .values([row(1000, 'v2', hotelIn('MUL0001', 'north')), row(1, 'v1', hotelIn('MUL0001', 'south'))]);
    await t.handle.db.insert(dialogues).values(row(2, 'v1', hotelIn('MUL0002', 'east')));
  });

  test('one dialogue per id, the newest import wins, sorted by id', async () => {
    const got = await newestImport(t.handle.db, 'multiwoz24', 'test');
    expect(got.map((d) => [d.id, d.turns[0]!.state])).toEqual([
      ['MUL0001', { 'hotel-area': ['north'] }],
      ['MUL0002', { 'hotel-area': ['east'] }],
    ]);
  });

  test('evaluation scores against the newest import', async () => {
    const preds = path.join(tmp, 'preds.jsonl');
    writeFileSync(
      preds,
      [
        { dialogue_id: 'MUL0001', turn: 0, state: { 'hotel-area': 'north' } },
        { dialogue_id: 'MUL0002', turn: 0, state: { 'hotel-area': 'east' } },
      ]
        .map((p) => JSON.stringify(p))
        .join('\n'),
    );
    const { evaluatePredictions } = createEvaluateActivities({ db: t.handle.db });
    const [trade] = await inActivity(() =>
      evaluatePredictions({
        model: 'm',
        dataset: 'multiwoz24',
        split: 'test',
        conventions: ['trade'],
        predictionsPath: preds,
      }),
    );
    expect(trade).toMatchObject({ turns: 2, jga: 1 });
  });
});

describe('generation run totals', () => {
  const runId = 'p1';
  const genId = `${runId}-generate`;
  beforeAll(async () => {
    const db = t.handle.db;
    await db.insert(runs).values([
      { id: runId, kind: 'pipeline', config: { name: 'p1', generation: { goals: 5 } as never } },
      { id: genId, kind: 'generate', config: {} },
    ]);
    const goal = (goalIndex: number, status: 'pending' | 'accepted' | 'rejected', reason?: string) => ({
      runId: genId,
      goalIndex,
      goal: { domains: [] } as never,
      status,
      reason,
      calls: 10,
      promptTokens: 2_000_000_000,
      completionTokens: 7,
      costUsd: 0.25,
    });
    await db
      .insert(generationGoals)
      .values([
        goal(0, 'accepted'),
        goal(1, 'rejected', 'too_short'),
        goal(2, 'rejected', 'too_short'),
        goal(3, 'rejected', 'domain_cap'),
        goal(4, 'pending'),
      ]);
  });

  test('finished goals only, rejections by reason, big token sums as numbers', async () => {
    expect(await generationTotals(t.handle.db, genId)).toEqual({
      done: 4,
      accepted: 1,
      rejected: 3,
      reasons: { too_short: 2, domain_cap: 1 },
      calls: 40,
      promptTokens: 8_000_000_000,
      completionTokens: 28,
      costUsd: 1,
    });
  });

  test('the report counts the same totals', async () => {
    const r = await loadReportData(t.handle.db, runId);
    expect(r.generation).toMatchObject({
      ...(await generationTotals(t.handle.db, genId)),
      goals: 5,
    });
  });
});
