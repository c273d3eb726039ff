/**
 * The pipeline's `auditLabels` activity on real PostgreSQL, with the scripted labeller behind
 * the loopback server: scores stored as `labeller`/`labeller-raw` evaluations, equal to the
 * audit's own; a retry resumes from the heartbeat without labelling again.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import path from 'node:path';
import { createAuditActivities } from '../../activities/audit';
import type { AuditLabelsInput, AuditLabelsSummary } from '../../activities/audit-types';
import { createGenerationResources } from '../../activities/generate-resources';
import { PipelineConfigSchema } from '../../pipeline/config';
import { dialogues, evaluations, runs } from '../../db/schema';
import { createLlmClient } from '../../llm/config';
import { loadDataset } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { startTestDatabase, type TestDatabase } from '../helpers/postgres';
import { scriptedRoles } from '../helpers/scripted-roles';

let server: LlmServer;
let pg: TestDatabase;

beforeAll(async () => {
  [server, pg] = await Promise.all([startLlmServer({ responder: scriptedRoles() }), startTestDatabase()]);
  const real = (
    await loadDataset({ source: path.join(multiwozDir(), '2.1/test.json.zip'), split: 'test' })
  ).slice(0, 3);
  await pg.handle.db.insert(runs).values({ id: 'pipe-audit', kind: 'pipeline' });
  await pg.handle.db.insert(dialogues).values(
    real.map((d) => ({
      source: 'real' as const,
      dataset: 'multiwoz21',
      datasetVersion: 'v1',
      split: 'test',
      dialogueId: d.id,
      services: d.services,
      numUserTurns: d.turns.filter((t) => t.speaker === 'USER').length,
      content: d,
      states: d.turns.filter((t) => t.speaker === 'USER').map((t) => t.state ?? {}),
    })),
  );
}, 120_000);
afterAll(async () => {
  await Promise.all([server.close(), pg.stop()]);
});

test('config: `audit` is optional, with defaults', () => {
  const base = {
    generation: { goals: 1, llm: { provider: 'local' } },
    data: { real: { dataset: 'multiwoz21', split: 'train' }, test: { dataset: 'multiwoz21', split: 'test' } },
    training: { tiny: true },
  };
  expect(PipelineConfigSchema.parse(base).audit).toBeUndefined();
  expect(PipelineConfigSchema.parse({ ...base, audit: {} }).audit).toEqual({ limit: 20, slots: 'dialogue' });
});

test('auditLabels stores labeller scores per convention; a retry resumes from its heartbeat', async () => {
  const env = { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: server.url };
  const resources = createGenerationResources({ createLlm: (c) => createLlmClient(c, env) });
  const { auditLabels } = createAuditActivities({ db: pg.handle.db, resources });
  const input: AuditLabelsInput = {
    runId: 'pipe-audit',
    llm: { provider: 'openai', model: 'test-model' },
    dataset: 'multiwoz21',
    split: 'test',
    limit: 2,
    conventions: ['trade', 'sgd'],
  };
  const first = new MockActivityEnvironment();
  const beats: unknown[] = [];
  first.on('heartbeat', (d: unknown) => beats.push(d));
  const out: AuditLabelsSummary[] = await first.run(auditLabels, input);
  expect(out.map((o) => o.convention)).toEqual(['trade', 'sgd']);
  expect(out[0]).toMatchObject({ dialogues: 2 });
  const rows = await pg.handle.db.select().from(evaluations).where(eq(evaluations.runId, 'pipe-audit'));
  expect(rows.map((r) => `${r.model}/${r.convention}`).sort()).toEqual([
    'labeller-raw/sgd',
    'labeller-raw/trade',
    'labeller/sgd',
    'labeller/trade',
  ]);
  const trade = rows.find((r) => r.model === 'labeller' && r.convention === 'trade')!;
  expect(trade.jga).toBe(out[0]!.jga);
  expect(trade.turns).toBe(out[0]!.turns);
  expect(rows.find((r) => r.model === 'labeller-raw' && r.convention === 'trade')!.jga).toBe(out[0]!.rawJga);

  // A retried attempt starts from the last heartbeat: both dialogues done, no LLM call.
  const calls = server.total;
  const retry = new MockActivityEnvironment({ heartbeatDetails: beats.at(-1) });
  expect(await retry.run(auditLabels, input)).toEqual(out);
  expect(server.total).toBe(calls);
  await resources.close();
}, 120_000);
