/**
 * Faults of a durable generation run (issue 17), with real processes: `dst-synth worker`
 * CLIs, a Temporal dev server and an embedded PostgreSQL of their own, the loopback LLM
 * server answering as scripted roles. The same 16 goals of one seed are run three times:
 *
 * 1. one worker, no fault: the reference;
 * 2. PostgreSQL SIGKILLed (whole process group: no clean shutdown, the last async-commit
 *    session saves lost) mid-run and started again;
 * 3. two workers on the queues at once, one SIGKILLed mid-run (its dialogues time out and
 *    resume on the other).
 *
 * Each faulted run must complete with, per goal, the reference's status, attempts, calls,
 * tokens and dialogue; the server must have served each goal exactly the attempts recorded
 * (no attempt numbered twice, none skipped); no goal may hold two dialogues; and no saved
 * session may ever point at an attempt whose predecessor is missing.
 */
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client';
import { spawnCli, type CliProcess } from '../helpers/cli';
import { compareGoals, goalsInDb, runFacts } from '../helpers/generation';
import type { LlmServer } from '../helpers/llm-server';
import {
  cliWorkers,
  startProcessServices,
  startScriptedLlmServer,
  type ProcessServices,
} from '../helpers/services';

const KEY = 'sk-faults-generation';
const GOALS = 16;
let server: LlmServer;
let services: ProcessServices;
const env = () => services.cliEnv({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.url });
const workers = cliWorkers(env);
const startWorker = () => workers.start(['--concurrency', '4']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Figures for the README's reliability section, printed at the end. */
const figures: string[] = [];

beforeAll(async () => {
  server = await startScriptedLlmServer(KEY);
  services = await startProcessServices('dst-faults-gen');
}, 120_000);

afterAll(async () => {
  console.log(`faults-generation:\n${figures.join('\n')}`);
  workers.killAll();
  await services?.stop();
  await server?.close();
});

async function generate(runId: string): Promise<void> {
  server.reset();
  // 20 ms a call: a run lasts long enough for a fault to land mid-run.
  server.delay(20, { times: 1_000_000 });
  const args = ['generate', '--goals', String(GOALS), '--model', 'test-model', '--run-id', runId];
  args.push('--concurrency', '4', '--batch-size', '8', '--paraphrases', '0', '--heartbeat-timeout', '3');
  const c = spawnCli([...args, '--seed', '21'], env());
  if ((await c.exited) !== 0) throw new Error(`generate ${runId} failed:\n${c.output()}`);
}

/** Sessions that point at an attempt whose predecessor was never recorded (or at a done goal). */
async function danglingSessions(db: Db, runId: string): Promise<string[]> {
  const r = await db.execute<{ goal: number; attempt: number; recorded: number }>(
    sql`select s.goal_index as goal, s.attempt, g.attempts as recorded
          from generation_sessions s join generation_goals g
            on g.run_id = s.run_id and g.goal_index = s.goal_index
         where s.run_id = ${runId} and (s.attempt <> g.attempts + 1 or g.status <> 'pending'
            or (select count(*) from generation_attempts a where a.run_id = s.run_id
                  and a.goal_index = s.goal_index) <> s.attempt - 1)`,
  );
  return r.rows.map((x) => `goal ${x.goal}: session of attempt ${x.attempt}, ${x.recorded} recorded`);
}

/** Waits for `done` goals, checking the session invariant on every poll. */
async function waitDone(runId: string, atLeast: number, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const facts = await runFacts(services.db.db, runId).catch(() => undefined);
    if (facts) {
      const dangling = await danglingSessions(services.db.db, runId).catch(() => []);
      if (dangling.length) throw new Error(`run ${runId}: ${dangling.join('; ')}`);
      if (facts.done >= atLeast && (atLeast < GOALS || facts.status?.status === 'completed')) return;
    }
    if (Date.now() > end) throw new Error(`run ${runId}: ${facts?.done} done, waited for ${atLeast}`);
    await sleep(200);
  }
}

/** Per goal what a faulted run must share with the reference, and its dialogues' content. */
async function outcome(runId: string) {
  const goals = [...(await goalsInDb(services.db.db, runId)).values()].map(
    ({ goal, status, attempts, calls, dialogues }) => ({ goal, status, attempts, calls, dialogues }),
  );
  const r = await services.db.db.execute<{ id: string; h: string; p: number; c: number }>(
    sql`select d.dialogue_id as id, md5(d.content::text) as h from dialogues d
         where d.run_id = ${runId} order by d.dialogue_id`,
  );
  const tokens = await services.db.db.execute<{ p: number; c: number }>(
    sql`select coalesce(sum(prompt_tokens), 0)::int as p, coalesce(sum(completion_tokens), 0)::int as c
          from generation_goals where run_id = ${runId}`,
  );
  return { goals, dialogues: r.rows, tokens: tokens.rows[0] };
}

/** The checks every faulted run shares; returns answered calls repeated (not in any goal's sums). */
async function checkAgainst(
  reference: Awaited<ReturnType<typeof outcome>>,
  runId: string,
  maxRepeated: number,
) {
  const facts = await runFacts(services.db.db, runId);
  expect(facts).toMatchObject({
    goals: GOALS,
    done: GOALS,
    sessionsLeft: 0,
    status: { status: 'completed' },
  });
  expect(facts.dialogues).toBe(facts.accepted);
  const repeated = await compareGoals(services.db.db, runId, server, maxRepeated);
  expect(await outcome(runId)).toEqual(reference);
  return { facts, repeated: [...repeated.values()].reduce((a, b) => a + b, 0) };
}

/** Dialogue activities in flight on the worker of process `pid` (its default identity `pid@host`). */
async function dialoguesOn(pid: number): Promise<number> {
  const connection = await Connection.connect({ address: services.temporal.address });
  try {
    const client = new Client({ connection });
    let n = 0;
    for await (const w of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
      const d = await client.workflow.getHandle(w.workflowId, w.runId).describe();
      n += (d.raw.pendingActivities ?? []).filter(
        (a) => a.activityType?.name === 'simulateDialogue' && a.lastWorkerIdentity?.startsWith(`${pid}@`),
      ).length;
    }
    return n;
  } finally {
    await connection.close();
  }
}

let reference: Awaited<ReturnType<typeof outcome>>;
let workerA: CliProcess;
let workerB: CliProcess;

test('the reference: one worker, no fault', async () => {
  workerA = await startWorker();
  await generate('faults-ref');
  await waitDone('faults-ref', GOALS);
  reference = await outcome('faults-ref');
  await compareGoals(services.db.db, 'faults-ref', server, 0);
  const f = await runFacts(services.db.db, 'faults-ref');
  figures.push(`reference: ${GOALS} goals, ${f.accepted} accepted, ${f.recordedCalls} calls`);
}, 180_000);

test('PostgreSQL SIGKILLed mid-run: the run completes, nothing lost or doubled, no dangling session', async () => {
  expect(reference).toBeDefined();
  await generate('faults-pgkill');
  await waitDone('faults-pgkill', 5);
  await services.killPostgres();
  await sleep(1000);
  await services.startPostgres();
  // It was a crash (recovery from the WAL), and it hit the run mid-way.
  expect(readFileSync(services.pgLog, 'utf8')).toMatch(
    /not properly shut down; automatic recovery in progress/,
  );
  const atRestart = await runFacts(services.db.db, 'faults-pgkill');
  expect(atRestart.done).toBeLessThan(GOALS);
  // Dialogues in flight had saved sessions, which the crash kept (as far as WAL had them).
  expect(atRestart.sessionsLeft).toBeGreaterThan(0);
  // Right after recovery: what the crash kept must already be consistent.
  expect(await danglingSessions(services.db.db, 'faults-pgkill')).toEqual([]);
  await waitDone('faults-pgkill', GOALS);
  const { facts, repeated } = await checkAgainst(reference, 'faults-pgkill', 8);
  figures.push(
    `postgres SIGKILL at ${atRestart.done}/${GOALS} done (${atRestart.sessionsLeft} saved sessions after recovery): completed, ${facts.accepted}/${GOALS} accepted as the reference, 0 lost, 0 duplicated, ${repeated} answered calls repeated`,
  );
}, 180_000);

test('two workers, one SIGKILLed mid-run: no goal done twice, no attempt numbered twice, totals of one worker', async () => {
  expect(reference).toBeDefined();
  const b = await startWorker();
  await generate('faults-two');
  await waitDone('faults-two', 5);
  // Killed while it holds dialogues (as Temporal sees it), so they must move to the other worker.
  let held = 0;
  for (let i = 0; i < 100 && !(held = await dialoguesOn(workerA.child.pid!)); i++) await sleep(100);
  expect(held).toBeGreaterThan(0);
  expect((await runFacts(services.db.db, 'faults-two')).done).toBeLessThan(GOALS);
  workerA.child.kill('SIGKILL');
  await workerA.exited;
  await waitDone('faults-two', GOALS);
  const { facts, repeated } = await checkAgainst(reference, 'faults-two', 8);
  figures.push(
    `two workers, one SIGKILLed holding ${held} dialogues: completed, ${facts.accepted}/${GOALS} accepted as the reference, 0 lost, 0 duplicated, ${repeated} answered calls repeated`,
  );
  workerB = b;
}, 180_000);

test('a worker stopped (SIGSTOP) past its heartbeat timeout, then resumed: its late writes change nothing', async () => {
  expect(reference).toBeDefined();
  const workerC = await startWorker();
  await generate('faults-zombie');
  await waitDone('faults-zombie', 5);
  let held = 0;
  for (let i = 0; i < 100 && !(held = await dialoguesOn(workerB.child.pid!)); i++) await sleep(100);
  expect(held).toBeGreaterThan(0);
  // Frozen mid-call for twice the heartbeat timeout: its dialogues resume on the other worker,
  // and the frozen one wakes up as a zombie with an LLM answer to save.
  workerB.child.kill('SIGSTOP');
  await sleep(6_000);
  workerB.child.kill('SIGCONT');
  await waitDone('faults-zombie', GOALS);
  // Let the zombie finish whatever it still writes.
  await sleep(2_000);
  const { facts, repeated } = await checkAgainst(reference, 'faults-zombie', 12);
  expect(await danglingSessions(services.db.db, 'faults-zombie')).toEqual([]);
  figures.push(
    `a worker frozen 6 s holding ${held} dialogues, then resumed: completed, ${facts.accepted}/${GOALS} accepted as the reference, 0 lost, 0 duplicated, ${repeated} answered calls repeated`,
  );
  for (const w of [workerB, workerC]) {
    w.child.kill('SIGTERM');
    await w.exited;
  }
}, 180_000);
