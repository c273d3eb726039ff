/**
 * Generation benchmarks (issue: durable generation). Everything real and local: a Temporal dev
 * server, an embedded Postgres, the loopback OpenAI-compatible server with scripted roles.
 *
 *   npx tsx bench/generation.bench.ts overhead [goals=40]
 *   npx tsx bench/generation.bench.ts throughput [goals=30] [rpm=600]
 *   npx tsx bench/generation.bench.ts scale [goals=10000]
 *
 * - overhead: LLM calls per second through the Temporal pipeline divided by the same goals
 *   simulated by the in-process loop (`simulate`), both against an instant server, one run.
 * - throughput: the server enforces an RPM limit (429 beyond it); the run uses the same
 *   budget; prints achieved calls/min as a share of the limit and the share of 429s.
 * - scale: a large run against the instant server: wall time, largest history, peak RSS.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createGenerationResources } from '../activities/generate-resources';
import { parseGenerationConfig, startGeneration } from '../client/generation';
import { openDb } from '../db/client';
import { runMigrations } from '../db/migrate';
import { startEmbeddedPostgres } from '../infra/postgres';
import { temporalCliPath } from '../infra/temporal-bin';
import { createLlmClient } from '../llm/config';
import { textTable } from '../common/text-table';
import { sampleGoals } from '../simulator/goals';
import { simulateLocally } from '../simulator/run-local';
import { bundleWorkflows, createWorkers } from '../worker';
import { SA } from '../workflows/search-attributes';
import { startLlmServer, type LlmServer } from '../tests/helpers/llm-server';
import { scriptedRoles } from '../tests/helpers/scripted-roles';

const KEY = 'sk-bench';

async function services() {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      searchAttributes: Object.values(SA),
    },
  });
  const pg = await startEmbeddedPostgres({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'dst-bench-pg-')) });
  const db = openDb(pg.url, 20);
  const sessionDb = openDb(pg.url, 10, { asyncCommit: true });
  await runMigrations(db.pool);
  return { env, pg, db, sessionDb };
}

const ok = (s: LlmServer, since = 0) =>
  s.requests.filter((r) => r.path === '/v1/chat/completions' && r.status === 200 && r.at >= since);

async function withPipeline<T>(
  server: LlmServer,
  concurrency: number,
  fn: (s: Awaited<ReturnType<typeof services>>) => Promise<T>,
  budget?: { rpm?: number },
  resources?: ReturnType<typeof createGenerationResources>,
) {
  const s = await services();
  const llmEnv = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url };
  const workers: Worker[] = await createWorkers({
    connection: s.env.nativeConnection,
    maxConcurrentActivities: concurrency,
    deps: {
      db: s.db.db,
      sessionDb: s.sessionDb.db,
      downloadDir: os.tmpdir(),
      generation:
        resources ??
        createGenerationResources({
          createLlm: (c) => createLlmClient(c, llmEnv),
          workerBudget: budget,
        }),
    },
    workflowBundle: await bundleWorkflows(),
  });
  const running = Promise.all(workers.map((w) => w.run()));
  try {
    return await fn(s);
  } finally {
    workers.forEach((w) => w.shutdown());
    await running;
    await s.env.teardown();
    await s.db.close();
    await s.sessionDb.close();
    await s.pg.stop();
  }
}

function config(goals: number, extra: object = {}) {
  return parseGenerationConfig({
    goals,
    seed: 5,
    llm: { provider: 'openai', model: 'test-model' },
    paraphrases: 1,
    concurrency: 8,
    batchSize: 25,
    ...extra,
  });
}

async function overhead(goals: number): Promise<void> {
  const server = await startLlmServer({ responder: scriptedRoles(), apiKey: KEY });
  const res = createGenerationResources({
    createLlm: (c) => createLlmClient(c, { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url }),
  });
  const train = await res.training();
  const sampled = sampleGoals({
    count: goals,
    seed: 5,
    trainDialogues: train.dialogues,
    deps: { db: res.venues(), ontology: res.ontology() },
  });
  const llm = res.llm({ provider: 'openai', model: 'test-model' }, 'bench', {});
  const t0 = performance.now();
  const local = await simulateLocally(
    sampled,
    { llm, db: res.venues(), ontology: res.ontology(), stats: train.stats },
    { seed: 5, paraphrases: 1, concurrency: 8 },
  );
  const localS = (performance.now() - t0) / 1000;
  const localCalls = local.summary.usage.calls;
  server.reset();
  // The worker shares the already loaded venues and training data, as a long-running worker would.
  const pipe = await withPipeline(
    server,
    8,
    async (s) => {
      const t1 = performance.now();
      const totals = await (await startGeneration(s.env.client, 'bench-overhead', config(goals))).result();
      return { s: (performance.now() - t1) / 1000, calls: totals.calls };
    },
    undefined,
    res,
  );
  const rows = [
    ['path', 'goals', 'LLM calls', 'seconds', 'calls/s', 'ratio'],
    [
      'in-process simulate (baseline)',
      String(goals),
      String(localCalls),
      localS.toFixed(1),
      (localCalls / localS).toFixed(1),
      '1.00',
    ],
    [
      'Temporal pipeline',
      String(goals),
      String(pipe.calls),
      pipe.s.toFixed(1),
      (pipe.calls / pipe.s).toFixed(1),
      (pipe.calls / pipe.s / (localCalls / localS)).toFixed(2),
    ],
  ];
  console.log(textTable(rows));
  await server.close();
  await res.close();
}

async function throughput(goals: number, rpm: number): Promise<void> {
  const server = await startLlmServer({ responder: scriptedRoles(), apiKey: KEY });
  server.rpmLimit(rpm);
  const r = await withPipeline(
    server,
    8,
    async (s) => {
      const t0 = Date.now();
      const totals = await (await startGeneration(s.env.client, 'bench-throughput', config(goals))).result();
      const minutes = (Date.now() - t0) / 60_000;
      return { totals, minutes };
    },
    { rpm },
  );
  const calls = server.requests.filter((q) => q.path === '/v1/chat/completions');
  const limited = calls.filter((q) => q.status === 429).length;
  const answered = ok(server);
  const span = (answered[answered.length - 1]!.at - answered[0]!.at) / 60_000;
  console.log(
    textTable([
      ['limit rpm', 'goals', 'calls answered', 'minutes', 'calls/min', 'share of limit', '429 share'],
      [
        String(rpm),
        String(goals),
        String(answered.length),
        span.toFixed(2),
        (answered.length / span).toFixed(0),
        (answered.length / span / rpm).toFixed(3),
        ((100 * limited) / calls.length).toFixed(2) + '%',
      ],
    ]),
  );
  console.log(`run wall time ${r.minutes.toFixed(2)} min; accepted ${r.totals.accepted}/${goals}`);
  await server.close();
}

async function scale(goals: number): Promise<void> {
  const server = await startLlmServer({ responder: scriptedRoles(), apiKey: KEY });
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 500);
  const r = await withPipeline(server, 16, async (s) => {
    const t0 = Date.now();
    const handle = await startGeneration(
      s.env.client,
      'bench-scale',
      config(goals, { concurrency: 16, batchSize: 50, paraphrases: 0 }),
    );
    const totals = await handle.result();
    const minutes = (Date.now() - t0) / 60_000;
    let largest = 0;
    let executions = 0;
    const ids = [
      `bench-scale`,
      ...Array.from({ length: Math.ceil(goals / 50) }, (_, i) => `bench-scale-batch-${i * 50}`),
    ];
    for (const id of ids.slice(0, 60)) {
      for await (const e of s.env.client.workflow.list({ query: `WorkflowId = '${id}'` })) {
        const h = await s.env.client.workflow.getHandle(id, e.runId).fetchHistory();
        largest = Math.max(largest, h.events?.length ?? 0);
        if (id === 'bench-scale') executions++;
      }
    }
    return { totals, minutes, largest, executions };
  });
  clearInterval(timer);
  console.log(
    textTable([
      [
        'goals',
        'accepted',
        'LLM calls',
        'wall min',
        'dialogues/min',
        'largest history (events)',
        'parent executions',
        'peak RSS MB (worker+client)',
      ],
      [
        String(goals),
        String(r.totals.accepted),
        String(r.totals.calls),
        r.minutes.toFixed(1),
        (goals / r.minutes).toFixed(0),
        String(r.largest),
        String(r.executions),
        (peak / 2 ** 20).toFixed(0),
      ],
    ]),
  );
  await server.close();
}

async function main(): Promise<void> {
  const [what = 'overhead', a, b] = process.argv.slice(2);
  if (what === 'overhead') await overhead(Number(a ?? 40));
  else if (what === 'throughput') await throughput(Number(a ?? 30), Number(b ?? 600));
  else if (what === 'scale') await scale(Number(a ?? 10_000));
  else throw new Error(`unknown benchmark ${what}: overhead | throughput | scale`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
