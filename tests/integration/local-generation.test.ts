/**
 * A durable generation run on the local provider: real `dst-synth worker` processes load the
 * small catalogued GGUF (SmolLM2-135M, for speed: plumbing, not data quality), two dialogues
 * run at once on the one model (one attempt each), and the worker is SIGKILLed mid-dialogue. A new
 * worker must continue the saved dialogues from their saved step, in the same attempt.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import { LOCAL_MODEL, resolveLocalModel } from '../../llm/local-model';
import { spawnCli } from '../helpers/cli';
import { cliWorkers, startProcessServices, type ProcessServices } from '../helpers/services';

let services: ProcessServices;
// The local provider only: no OpenAI key from the caller's environment.
const env = () => services.cliEnv({ OPENAI_API_KEY: undefined });
const workers = cliWorkers(env);
const startWorker = () => workers.start(['--queues', 'llm,data', '--concurrency', '2']);

beforeAll(async () => {
  resolveLocalModel(LOCAL_MODEL.SMOLLM2_135M); // the set-up script must have assembled it
  services = await startProcessServices('dst-local');
}, 120_000);

afterAll(async () => {
  workers.killAll();
  await services?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function savedSteps(runId: string): Promise<Map<number, { attempt: number; steps: number }>> {
  const r = await services.db.db.execute<{ goal_index: number; attempt: number; steps: number }>(
    sql`select goal_index, attempt, steps from generation_sessions where run_id = ${runId}`,
  );
  return new Map(r.rows.map((x) => [x.goal_index, { attempt: x.attempt, steps: x.steps }]));
}

/** Goals whose dialogue ended (accepted or rejected): goal → attempt and calls made in it. */
async function finishedGoals(runId: string): Promise<Map<number, { attempts: number; calls: number }>> {
  const r = await services.db.db.execute<{ goal_index: number; attempts: number; calls: number }>(
    sql`select goal_index, attempts, calls from generation_goals where run_id = ${runId} and status <> 'pending'`,
  );
  return new Map(r.rows.map((x) => [x.goal_index, { attempts: x.attempts, calls: x.calls }]));
}

async function until<T>(
  what: string | (() => Promise<string>),
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : await what()}`);
    await sleep(200);
  }
}

/**
 * What the run looks like when a wait times out: its goals, sessions and attempts rows, the
 * `status` command's view and the processes on the machine (a stray worker, a busy CPU).
 */
async function diagnose(runId: string): Promise<string> {
  const q = async (text: ReturnType<typeof sql>) => JSON.stringify((await services.db.db.execute(text)).rows);
  const status = spawnCli(['status', runId], env());
  await status.exited;
  const ps = spawnSync('ps', ['-eo', 'pid,ppid,pcpu,etime,args', '--sort=-pcpu'], { encoding: 'utf8' });
  return [
    `goals: ${await q(sql`select goal_index, status, attempts, calls from generation_goals where run_id = ${runId}`)}`,
    `sessions: ${await q(sql`select goal_index, attempt, steps from generation_sessions where run_id = ${runId}`)}`,
    `attempts: ${await q(sql`select goal_index, attempt, accepted, reason from generation_attempts where run_id = ${runId}`)}`,
    `status:\n${status.output()}`,
    `load: ${loadavg().join(' ')}; processes:\n${(ps.stdout ?? '').split('\n').slice(0, 15).join('\n')}`,
  ].join('\n');
}

/**
 * More goals than dialogues at once: the small model's first user turn is often rejected by the
 * role checks (two calls, then the goal ends), so a run of two goals could end with no dialogue
 * ever saved mid-way. Later goals keep dialogues starting until one is saved past two calls.
 */
const GOALS = 10;

test('local model: SIGKILL mid-dialogue, a new worker resumes the saved dialogues in the same attempt', async () => {
  const runId = 'gen-local-kill';
  let worker = await startWorker();
  const start = spawnCli(
    [
      'generate',
      '--goals',
      String(GOALS),
      '--max-attempts',
      '1',
      '--provider',
      'local',
      '--model',
      LOCAL_MODEL.SMOLLM2_135M,
      '--run-id',
      runId,
      '--concurrency',
      '2',
      '--batch-size',
      '1', // two batches of one: two dialogues at once on the one model
      '--paraphrases',
      '0',
      '--heartbeat-timeout',
      '10',
      '--seed',
      '5',
    ],
    env(),
  );
  expect(await start.exited).toBe(0);
  expect(start.output()).toMatch(/with local:smollm2-135m-instruct/);
  // Mid-dialogue: a session saved after two LLM calls. Fail at once, with the run's rows, if every
  // goal ended before any was saved that far (nothing left to kill mid-way).
  const saved = await until(
    async () => `a saved session; worker output:\n${worker.output().slice(-3000)}\n${await diagnose(runId)}`,
    async () => {
      const r = await services.db.db.execute<{ steps: number }>(
        sql`select max(steps) as steps from generation_sessions where run_id = ${runId}`,
      );
      const n = Number(r.rows[0]?.steps ?? 0);
      if (n >= 2) return n;
      return (await finishedGoals(runId)).size === GOALS ? 0 : undefined;
    },
    480_000,
  );
  if (saved === 0) throw new Error(`every goal ended before a session was saved:\n${await diagnose(runId)}`);
  worker.child.kill('SIGKILL');
  await worker.exited;
  // The sessions as the kill left them (read after it: no worker moves them now): goal → steps.
  const before = await savedSteps(runId);
  expect(before.size).toBeGreaterThan(0);
  worker = await startWorker();
  // The new worker resumes every saved dialogue from its saved step, in the same attempt: two
  // more calls made on top of a saved session prove it (finishing whole dialogues on a small
  // model would only make the test slow).
  // A resumed dialogue may also end (a small model's turn is often rejected): its session row is
  // then deleted, and the goal's row holds the attempt and the calls it made in all.
  await until(
    async () => `resumed sessions; worker output:\n${worker.output().slice(-3000)}\n${await diagnose(runId)}`,
    async () => {
      const now = await savedSteps(runId);
      const done = await finishedGoals(runId);
      const resumed = [...before].some(([goal, s]) => {
        const f = done.get(goal);
        if (f) return f.attempts === s.attempt && f.calls > s.steps;
        return (now.get(goal)?.steps ?? 0) >= s.steps + 2;
      });
      return resumed ? now : undefined;
    },
    600_000,
  );
  const rows = await services.db.db.execute<{
    goal_index: number;
    attempt: number;
    steps: number;
    by_role: Record<string, { calls: number; ms: number }>;
  }>(
    sql`select goal_index, attempt, steps, session->'usage'->'byRole' as by_role from generation_sessions where run_id = ${runId}`,
  );
  for (const r of rows.rows) {
    const was = before.get(r.goal_index);
    if (was) expect(r.attempt).toBe(was.attempt); // resumed, not restarted as a new attempt
    // Per-role accounting travels with the saved session (and is stored with each attempt).
    expect(r.by_role.user?.calls).toBeGreaterThan(0);
    expect(r.by_role.user?.ms).toBeGreaterThan(0);
  }
  const attempts = await services.db.db.execute<{ n: string }>(
    sql`select count(*) as n from generation_attempts where run_id = ${runId} and attempt > 1`,
  );
  expect(Number(attempts.rows[0]!.n)).toBe(0); // --max-attempts 1: nothing was retried as a new attempt
  const cancel = spawnCli(['cancel', runId], env());
  expect(await cancel.exited).toBe(0); // running or, both dialogues ended, already completed
  expect(cancel.output()).toMatch(/cancel requested|is already completed: nothing to cancel/);
  worker.child.kill('SIGTERM');
  await worker.exited;
}, 900_000);
