/**
 * The simulator against a real HTTP server speaking the chat-completions protocol (our
 * loopback server with scripted roles), through the real OpenAI client and the real CLI.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createOpenAiClient } from '../../llm/openai';
import { loadDataset } from '../../multiwoz/loaders';
import { loadOntology, type Ontology } from '../../multiwoz/ontology';
import { TRACKED_SLOTS } from '../../multiwoz/slots';
import type { Dialogue } from '../../multiwoz/types';
import { loadVenueDb, type VenueDb } from '../../multiwoz/venues';
import { multiwozDir } from '../../multiwoz/paths';
import { sampleGoals, type SampledGoal } from '../../simulator/goals';
import { estimateRevealStats, type RevealStats } from '../../simulator/reveal';
import { simulateLocally } from '../../simulator/run-local';
import { REASON } from '../../simulator/types';
import { startLlmServer, type LlmServer } from '../helpers/llm-server';
import { scriptedRoles, type ScriptedRolesOptions } from '../helpers/scripted-roles';
import { spawnCli } from '../helpers/cli';

let server: LlmServer;
let db: VenueDb;
let ontology: Ontology;
let stats: RevealStats;
let goals: SampledGoal[];

beforeAll(async () => {
  server = await startLlmServer({ responder: scriptedRoles(), apiKey: 'sk-test-123' });
  const train = await loadDataset({
    source: path.join(multiwozDir(), '2.1/train-dev-test.star-tsv.zip'),
    split: 'train',
  });
  db = loadVenueDb();
  ontology = loadOntology();
  stats = estimateRevealStats(train);
  goals = sampleGoals({ count: 20, seed: 7, trainDialogues: train, deps: { db, ontology } });
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.setResponder(scriptedRoles());
});

function run(
  goalsToRun: SampledGoal[],
  roles: ScriptedRolesOptions = {},
  opts: { agentTemplate?: boolean } = {},
) {
  server.setResponder(scriptedRoles(roles));
  const llm = createOpenAiClient({ apiKey: 'sk-test-123', baseURL: server.url, model: 'test-model' });
  return simulateLocally(
    goalsToRun,
    { llm, db, ontology, stats },
    { seed: 7, retry: { initialMs: 10 }, ...opts },
  );
}

test('simulate CLI: 20 goals, every state valid, entities real, both export layouts reload', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'dst-sim-'));
  const env = { ...process.env, OPENAI_API_KEY: 'sk-test-123', OPENAI_BASE_URL: server.url };
  const cli = spawnCli(
    ['simulate', '--goals', '20', '--seed', '7', '--out', out, '--model', 'test-model', '--json'],
    env,
  );
  expect(await cli.exited).toBe(0);
  expect(cli.output()).toMatch(/plan: 20 goals with test-model/);
  const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
  expect(summary).toMatchObject({ goals: 20, accepted: 20, rejected: 0 });
  expect(summary.usage.calls).toBe(server.total - 1); // one preflight call
  const from22 = await loadDataset({ dataset: 'multiwoz22', source: path.join(out, 'multiwoz22') });
  const fromJson = await loadDataset({ dataset: 'multiwoz21', source: path.join(out, 'data.json') });
  expect(from22).toHaveLength(20);
  expect(fromJson).toHaveLength(20);
  const states = (ds: Dialogue[]) =>
    ds.map((d) => d.turns.filter((t) => t.speaker === 'USER').map((t) => t.state));
  expect(states(fromJson)).toEqual(states(from22));
  for (const d of from22)
    for (const t of d.turns)
      for (const [slot, [v]] of Object.entries(t.state ?? {})) {
        expect(TRACKED_SLOTS).toContain(slot);
        if (ontology.isCategorical(slot)) expect(ontology.has(slot, v!)).toBe(true);
        if (slot.endsWith('-name') && v !== 'dontcare')
          expect(db.matchEntityName(slot.split('-')[0] as 'hotel', v!)).toBeDefined();
      }
  const accepted = readFileSync(path.join(out, 'accepted.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  let named = 0;
  for (const d of accepted)
    for (const t of d.turns as Array<{ entity?: string; speaker: string }>) {
      if (!t.entity || t.speaker !== 'SYSTEM') continue;
      named++;
      const found = ['hotel', 'restaurant', 'attraction', 'train'].some((dom) =>
        db.matchEntityName(dom as 'hotel', t.entity!),
      );
      expect(found || /^[a-z]+ [a-z]+$/.test(t.entity)).toBe(true); // taxi: "<colour> <make>"
    }
  expect(named).toBeGreaterThan(20);
}, 120_000);

test('decoding is constrained to the turn: allowed actions, candidate names, listed slots', async () => {
  await run(goals.slice(0, 1));
  type Schema = { enum?: string[]; anyOf?: Schema[]; properties: Record<string, Schema> };
  const schemaOf = (role: string) =>
    server.requests
      .filter((r) => r.role === role && r.body)
      .map((r) => (r.body!.response_format as { json_schema: { schema: Schema } }).json_schema.schema);
  const system = schemaOf('system');
  expect(system.length).toBeGreaterThan(0);
  for (const sch of system) expect(sch.properties.action!.enum!.length).toBeGreaterThan(0);
  const named = system.find((sch) => sch.properties.entity!.anyOf?.[0]?.enum);
  expect(named).toBeDefined();
  for (const n of named!.properties.entity!.anyOf![0]!.enum!)
    expect(
      ['hotel', 'restaurant', 'attraction', 'train'].some((d) => db.matchEntityName(d as 'hotel', n)),
    ).toBe(true);
  // Any subset of the listed slots (a record): llama.cpp grammars would force every property.
  // The default labeller answers the turn's update; the whole-state labeller has the same shape.
  type Record_ = { propertyNames: { enum: string[] }; properties?: unknown };
  const label = schemaOf('labeller')[0] as unknown as { properties: { update?: Record_; state?: Record_ } };
  const record = label.properties.update ?? label.properties.state;
  expect(record).toBeDefined();
  expect(record!.properties).toBeUndefined();
  expect(record!.propertyNames.enum.length).toBeGreaterThan(0);
  expect(record!.propertyNames.enum.every((k) => TRACKED_SLOTS.includes(k as never))).toBe(true);
});

test('429 with Retry-After and a 500 are retried; the dialogue is still accepted', async () => {
  server.fail429({ retryAfterSeconds: 1, times: 2 }).fail500({ times: 1 });
  const t0 = Date.now();
  const { summary } = await run(goals.slice(0, 1));
  expect(summary.accepted).toBe(1);
  expect(server.requests.filter((r) => r.status === 429)).toHaveLength(2);
  expect(server.requests.filter((r) => r.status === 500)).toHaveLength(1);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(2000); // waited as the server said
  expect(summary.usage.calls).toBe(server.requests.filter((r) => r.status === 200).length);
});

test('malformed JSON once is retried by the structured call; twice rejects the attempt', async () => {
  server.malformedJson({ times: 1 });
  expect((await run(goals.slice(0, 1))).summary.accepted).toBe(1);
  const bad = await run(goals.slice(0, 1), { invalidJsonFor: 'labeller' });
  expect(bad.summary.accepted).toBe(0);
  expect(bad.runs[0]!.attempts.map((a) => a.reason)).toEqual(Array(3).fill(REASON.INVALID_LLM_OUTPUT));
});

test('a system agent that invents a venue: its turns are written from the plan, or the attempt is rejected', async () => {
  const withVenue = goals.filter((g) => g.goal.domains.some((d) => d.domain !== 'taxi')).slice(0, 1);
  const off = await run(withVenue, { systemInventsEntity: true }, { agentTemplate: false });
  expect(off.runs[0]!.accepted).toBeUndefined();
  expect(off.runs[0]!.attempts[0]!.reason).toBe(REASON.UNGROUNDED_ENTITY);
  // The default: each invented venue is sent back once, then the turn is the plan's template.
  const { runs } = await run(withVenue, { systemInventsEntity: true });
  expect(runs[0]!.accepted).toBeDefined();
  const templated = runs[0]!.attempts.at(-1)!.failures.filter((f) => f.reason === REASON.AGENT_TEMPLATE);
  expect(templated.length).toBeGreaterThan(0);
  expect(templated.every((f) => /written from the plan/.test(f.detail))).toBe(true);
});

test.each([
  ['extra-slot', REASON.UNREVEALED],
  ['wrong-value', REASON.GOAL_MISMATCH],
  ['unknown-slot', REASON.UNKNOWN_SLOT],
] as const)('labeller noise %s is corrected and recorded as %s', async (noise, reason) => {
  const { runs, summary } = await run(goals.slice(0, 3), { labellerNoise: noise });
  expect(summary.corrections[reason]).toBeGreaterThan(0);
  for (const r of runs) {
    const final = r.attempts[r.attempts.length - 1]!;
    for (const t of final.turns)
      for (const slot of Object.keys(t.state ?? {})) expect(TRACKED_SLOTS).toContain(slot);
  }
});

test('a wrong API key stops simulate before any dialogue, with a clear message', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'dst-sim-'));
  const env = { ...process.env, OPENAI_API_KEY: 'sk-wrong', OPENAI_BASE_URL: server.url };
  const cli = spawnCli(['simulate', '--goals', '2', '--out', out, '--model', 'test-model'], env);
  expect(await cli.exited).toBe(1);
  expect(cli.output()).toMatch(/rejected the API key \(401\): check OPENAI_API_KEY/);
  expect(cli.output()).not.toContain('sk-wrong');
  const wrongModel = spawnCli(['simulate', '--goals', '2', '--out', out, '--model', 'nope'], {
    ...env,
    OPENAI_API_KEY: 'sk-test-123',
  });
  expect(await wrongModel.exited).toBe(1);
  expect(wrongModel.output()).toMatch(/model nope not found/);
  // `generate` checks the same way before it starts anything (no Temporal needed to refuse).
  const gen = spawnCli(['generate', '--goals', '5', '--model', 'test-model'], {
    ...env,
    TEMPORAL_ADDRESS: '127.0.0.1:1',
  });
  expect(await gen.exited).toBe(1);
  expect(gen.output()).toMatch(/plan: 5 goals/);
  expect(gen.output()).toMatch(/rejected the API key \(401\)/);
  expect(gen.output()).not.toMatch(/run .* started/);
}, 60_000);

test('per-role accounting: every call is counted under its role, and the roles sum to the totals', async () => {
  const { runs, summary } = await run(goals.slice(0, 4));
  const byRole = summary.usage.byRole!;
  expect(Object.keys(byRole).sort()).toEqual(['labeller', 'paraphraser', 'system', 'user']);
  const sum = (f: (u: (typeof byRole)[string]) => number) =>
    Object.values(byRole).reduce((n, u) => n + f(u), 0);
  expect(sum((u) => u.calls)).toBe(summary.usage.calls);
  expect(sum((u) => u.promptTokens)).toBe(summary.usage.promptTokens);
  expect(sum((u) => u.completionTokens)).toBe(summary.usage.completionTokens);
  // The loopback server reports no cached tokens: everything counts as evaluated.
  expect(sum((u) => u.evaluatedTokens)).toBe(summary.usage.promptTokens);
  for (const u of Object.values(byRole)) expect(u.ms).toBeGreaterThan(0);
  // One user call per user turn of every attempt, plus one per turn that only repeated and was
  // asked again; the server saw exactly the counted calls.
  const attempts = runs.flatMap((r) => r.attempts);
  const userTurns = attempts.flatMap((a) => a.turns).filter((t) => t.speaker === 'USER');
  const repeats = attempts.flatMap((a) => a.failures).filter((f) => f.reason === REASON.REPEATED_TURN);
  expect(byRole.user!.calls).toBe(userTurns.length + repeats.length);
  expect(server.requests.filter((r) => r.status === 200).length).toBe(summary.usage.calls);
  // Stored per dialogue too.
  for (const a of runs.flatMap((r) => r.attempts)) expect(a.usage.byRole?.user?.calls).toBeGreaterThan(0);
});
