/**
 * Chaos benchmark (issue 11): a generation run with real processes — `dst-synth worker`
 * (SIGKILLed 5 times), the Temporal dev server (restarted once, same SQLite file), an
 * embedded Postgres (restarted once) — against the loopback LLM server at 20 ms a call.
 *
 *   npx tsx bench/chaos.bench.ts [goals=200] [seed=random] [heartbeatTimeoutSeconds=default]
 *
 * Prints the share of answered LLM calls that were repeated (answered, but not in any goal's
 * sums: the call in flight when a worker died, or when Postgres went away), which they were
 * (role and the disruption before them, from each recorded attempt's role usage) and the stall
 * after each disruption: how long no call was started after it. The seed fixes the disruption points.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb, type DbHandle } from '../db/client';
import { runMigrations } from '../db/migrate';
import { freePort } from '../infra/ports';
import { startEmbeddedPostgres, type RunningPostgres } from '../infra/postgres';
import { startTemporalDevServer, type RunningDevServer } from '../infra/temporal';
import { textTable } from '../common/text-table';
import { createRng } from '../simulator/rng';
import { spawnCli, type CliProcess } from '../tests/helpers/cli';
import { answeredPerGoal, goalsInDb, runFacts } from '../tests/helpers/generation';
import { startLlmServer, type RecordedRequest } from '../tests/helpers/llm-server';
import { scriptedRoles } from '../tests/helpers/scripted-roles';

const KEY = 'sk-chaos';
const CONCURRENCY = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kind = 'kill' | 'temporal' | 'postgres';
interface Disruption {
  kind: Kind;
  atDone: number;
  delayMs: number;
  /** When it happened (ms since epoch). */
  at?: number;
  /** Kills: seconds the replacement worker took to start (before the kill). */
  startSeconds?: number;
}

/** 5 kills and the two restarts, spread over the run in a seeded order and seeded points. */
function plan(seed: number, goals: number): Disruption[] {
  const rng = createRng(seed);
  const kinds: Kind[] = ['kill', 'kill', 'kill', 'kill', 'kill', 'temporal', 'postgres'];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  const span = Math.floor((goals * 0.85) / kinds.length);
  return kinds.map((kind, i) => ({
    kind,
    atDone: Math.floor(goals * 0.05) + i * span + rng.int(Math.max(1, span - 5)),
    delayMs: rng.int(300),
  }));
}

interface Repeat {
  role: string;
  /** The disruption the repeated call is put down to ('none' when no disruption fell inside). */
  after: string;
}

/** Answered calls per conversation (`<goal>/<attempt>/<role>`): count and answer times. */
function answeredByConversation(requests: readonly RecordedRequest[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of requests) {
    if (r.path !== '/v1/chat/completions' || r.status !== 200 || r.role === 'preflight') continue;
    const key = r.conversation ?? '?';
    out.set(key, [...(out.get(key) ?? []), r.at]);
  }
  return out;
}

/** Calls per conversation as the recorded attempts have them (each attempt's role usage). */
async function recordedByConversation(db: DbHandle, runId: string): Promise<Map<string, number>> {
  const r = await db.pool.query<{
    goal: number;
    attempt: number;
    usage: Record<string, { calls: number }> | null;
  }>('select goal_index as goal, attempt, role_usage as usage from generation_attempts where run_id = $1', [
    runId,
  ]);
  const out = new Map<string, number>();
  for (const row of r.rows)
    for (const [role, u] of Object.entries(row.usage ?? {}))
      out.set(`${row.goal}/${row.attempt}/${role}`, u.calls);
  return out;
}

/**
 * The repeated calls, exactly: per conversation (goal, attempt, role), answered calls minus the
 * calls its recorded attempt counts. Each is put down to the first disruption between the
 * conversation's first and last answer (the answer it lost came just before it).
 */
function findRepeats(
  answered: Map<string, number[]>,
  recorded: Map<string, number>,
  disruptions: Disruption[],
): Repeat[] {
  const out: Repeat[] = [];
  for (const [conversation, times] of answered) {
    const extra = times.length - (recorded.get(conversation) ?? 0);
    if (extra <= 0) continue;
    const [first = 0, last = 0] = [Math.min(...times), Math.max(...times)];
    const d = disruptions.find((x) => (x.at ?? Infinity) >= first && (x.at ?? Infinity) <= last);
    const role = conversation.split('/')[2] ?? '?';
    for (let i = 0; i < extra; i++) out.push({ role, after: d ? `${d.kind}@${d.atDone}` : 'none' });
  }
  return out;
}

function repeatTable(repeats: Repeat[]): string {
  const groups = new Map<string, number>();
  for (const r of repeats)
    groups.set(`${r.after}\u0000${r.role}`, (groups.get(`${r.after}\u0000${r.role}`) ?? 0) + 1);
  const rows = [...groups].sort().map(([k, n]) => [...k.split('\u0000'), String(n)]);
  return textTable([['repeated after', 'role', 'calls'], ...rows]);
}

async function main(): Promise<void> {
  const goals = Number(process.argv[2] ?? 200);
  const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
  const heartbeat = process.argv[4];
  const disruptions = plan(seed, goals);
  console.log(
    `chaos: ${goals} goals, seed ${seed}; ${disruptions.map((d) => `${d.kind}@${d.atDone}`).join(', ')}`,
  );

  const temporalDir = mkdtempSync(path.join(os.tmpdir(), 'dst-chaos-temporal-'));
  const pgDir = mkdtempSync(path.join(os.tmpdir(), 'dst-chaos-pg-'));
  const [temporalPort, pgPort] = [await freePort(), await freePort()];
  const server = await startLlmServer({ responder: scriptedRoles(), apiKey: KEY });
  server.delay(20, { times: Number.MAX_SAFE_INTEGER });
  let temporal: RunningDevServer = await startTemporalDevServer({
    dataDir: temporalDir,
    port: temporalPort,
    headless: true,
  });
  let pg: RunningPostgres = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
  let db: DbHandle = openDb(pg.url);
  await runMigrations(db.pool);
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    DATABASE_URL: pg.url,
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: server.url,
  });
  const killed = new Set<CliProcess>();
  const startWorker = async (): Promise<CliProcess> => {
    const w = spawnCli(['worker', '--concurrency', String(CONCURRENCY)], env());
    void w.exited.then((code) => {
      if (killed.has(w)) return;
      // Not one of ours: a worker must survive service restarts. Say why, and go on with a new one.
      console.error(`worker exited by itself (${code}); its last output:\n${w.output().slice(-4000)}`);
      unexpected++;
      void startWorker().then((n) => (worker = n));
    });
    await w.waitFor(/worker serving/, 180_000);
    return w;
  };
  let unexpected = 0;
  const done = async () => (await runFacts(db.db, runId).catch(() => ({ done: -1 }))).done;

  const runId = `chaos-${seed}`;
  let worker = await startWorker();
  const args = ['generate', '--goals', String(goals), '--model', 'test-model', '--run-id', runId];
  args.push('--concurrency', String(CONCURRENCY), '--batch-size', '25', '--paraphrases', '1', '--seed', '11');
  if (heartbeat) args.push('--heartbeat-timeout', heartbeat);
  const gen = spawnCli(args, env());
  if ((await gen.exited) !== 0) throw new Error(`generate failed:\n${gen.output()}`);
  const t0 = Date.now();

  for (const d of disruptions) {
    while ((await done()) < d.atDone) await sleep(100);
    await sleep(d.delayMs);
    d.at = Date.now();
    if (d.kind === 'kill') {
      // The replacement is up before the kill: what is measured is what a dead worker costs
      // the run (its dialogues hold their slots until their heartbeat times out), not how long
      // a worker takes to start on this machine (printed apart).
      const t = Date.now();
      const next = await startWorker();
      d.startSeconds = (Date.now() - t) / 1000;
      // Let it finish warming up (training data): a starting worker hogs this small machine's
      // CPU, which slows the old worker's saves and inflates the repeated calls of the kill.
      await sleep(5_000);
      d.at = Date.now();
      killed.add(worker);
      worker.child.kill('SIGKILL');
      await worker.exited;
      worker = next;
    } else if (d.kind === 'temporal') {
      await temporal.stop();
      await sleep(1000);
      temporal = await startTemporalDevServer({ dataDir: temporalDir, port: temporalPort, headless: true });
    } else {
      await db.close();
      await pg.stop();
      await sleep(1000);
      pg = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
      db = openDb(pg.url);
    }
  }
  while ((await runFacts(db.db, runId)).status?.status !== 'completed') await sleep(250);
  const wall = (Date.now() - t0) / 1000;

  const facts = await runFacts(db.db, runId);
  const answered = [...answeredPerGoal(server).values()].reduce((n, g) => n + g.calls, 0);
  const seen = answeredPerGoal(server);
  const rows = await goalsInDb(db.db, runId);
  let repeated = 0;
  for (const [goal, row] of rows) repeated += Math.max(0, (seen.get(goal)?.calls ?? 0) - row.calls);
  const starts = server.requests
    .filter((r) => r.path === '/v1/chat/completions')
    .map((r) => r.at)
    .sort((a, b) => a - b);
  /** Longest time without a new call from a disruption until the next one (or the end). */
  const stallAfter = (from: number, to: number) => {
    const inWindow = [from, ...starts.filter((t) => t > from && t < to), to];
    let longest = 0;
    for (let i = 1; i < inWindow.length; i++) longest = Math.max(longest, inWindow[i]! - inWindow[i - 1]!);
    return longest / 1000;
  };
  const end = starts[starts.length - 1] ?? Date.now();
  const stalls = disruptions.map((d, i) => ({
    ...d,
    stall: stallAfter(d.at!, disruptions[i + 1]?.at ?? end),
  }));
  const kills = stalls.filter((d) => d.kind === 'kill');

  const rowsOut = [
    ['disruption', 'at done', 'stall (s)', 'new worker start (s)'],
    ...stalls.map((d) => [d.kind, String(d.atDone), d.stall.toFixed(1), d.startSeconds?.toFixed(1) ?? '-']),
  ];
  console.log(textTable(rowsOut));
  const repeats = findRepeats(
    answeredByConversation(server.requests),
    await recordedByConversation(db, runId),
    disruptions,
  );
  if (repeats.length) console.log(repeatTable(repeats));
  console.log(
    [
      `goals ${facts.done}/${goals} done (accepted ${facts.accepted}), dialogues ${facts.dialogues}, sessions left ${facts.sessionsLeft}`,
      `answered calls ${answered}, recorded ${facts.recordedCalls}, repeated ${repeated} = ${((100 * repeated) / answered).toFixed(2)}% (aim <= 0.2%)`,
      `calls the server finished for a client already gone (not answered): ${server.requests.filter((r) => r.status === 499).length}`,
      `longest stall after a kill: ${Math.max(...kills.map((k) => k.stall)).toFixed(1)} s (aim <= ~20 s); wall time ${wall.toFixed(0)} s`,
      `workers that exited by themselves: ${unexpected}`,
      `heartbeat timeout: ${heartbeat ?? 'default'} s; repeat with: npx tsx bench/chaos.bench.ts ${goals} ${seed}${heartbeat ? ` ${heartbeat}` : ''}`,
    ].join('\n'),
  );

  killed.add(worker);
  worker.child.kill('SIGTERM');
  await worker.exited;
  await db.close();
  await temporal.stop();
  await pg.stop();
  await server.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
