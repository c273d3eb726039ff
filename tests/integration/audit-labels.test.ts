/**
 * The label audit on real MultiWOZ 2.1 test dialogues, with labellers behind the loopback
 * OpenAI-compatible server (`--provider openai`): the CLI's predictions rescored by `eval` give
 * its numbers, with the default labeller (retrieved training examples, update answers) and the
 * baseline one; a labeller answering planted states is scored as computed independently; a
 * rerun resumes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLabelAudit, scoreAudit } from '../../audit/label-audit';
import { createOpenAiClient } from '../../llm/openai';
import { loadDataset, loadSplitList } from '../../multiwoz/loaders';
import { loadOntology } from '../../multiwoz/ontology';
import { multiwozDir } from '../../multiwoz/paths';
import type { Dialogue } from '../../multiwoz/types';
import { loadVenueDb } from '../../multiwoz/venues';
import { BASELINE_LABELLER, ROLE } from '../../simulator/prompts';
import { spawnCli } from '../helpers/cli';
import { startLlmServer, type LlmServer, type LlmServerRequest } from '../helpers/llm-server';
import { scriptedRoles } from '../helpers/scripted-roles';

const TEST = path.join(multiwozDir(), '2.1/test.json.zip');
let server: LlmServer;
let real: Dialogue[];

beforeAll(async () => {
  server = await startLlmServer({ responder: scriptedRoles() });
  real = (await loadDataset({ source: TEST, split: 'test' })).slice(0, 4);
});
afterAll(() => server.close());

const lastJson = (out: string) =>
  JSON.parse(
    out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .at(-1)!,
  ) as Record<string, unknown> & { jga: number; turns: number; dialogues: number };

test.each([
  ['the default labeller (examples, update answers)', [] as string[]],
  ['the baseline labeller', ['--examples', '0', '--answer', 'state', '--dontcare', 'listed']],
])(
  'audit-labels --provider openai, %s: eval on its predictions gives the same JGA; a rerun resumes without LLM calls',
  async (_name, flags) => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'dst-audit-'));
    const env = { ...process.env, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: server.url };
    server.setResponder(scriptedRoles());
    const before = server.requests.length;
    const args = [
      'audit-labels',
      '--dialogues',
      TEST,
      '--limit',
      '3',
      '--provider',
      'openai',
      '--model',
      'test-model',
      '--out',
      out,
      '--json',
      ...flags,
    ];
    const cli = spawnCli(args, env);
    expect(await cli.exited).toBe(0);
    const audit = lastJson(cli.output());
    expect(audit).toMatchObject({ dialogues: 3, convention: 'trade' });
    const examples = flags.length === 0;
    expect(audit.labeller).toEqual(
      examples ? { examples: 3, answer: 'update', dontcare: 'stated' } : BASELINE_LABELLER,
    );
    // The labeller was asked as configured, and its examples are training turns only.
    const asked = server.requests.slice(before).filter((r) => r.role === ROLE.LABELLER);
    expect(asked.length).toBe(audit.turns);
    const prompts = asked.map((r) => String(r.messages?.at(-1)?.content ?? ''));
    expect(
      prompts.every((p) => p.includes(examples ? 'Answer as JSON {"update"' : 'Answer as JSON {"state"')),
    ).toBe(true);
    expect(prompts.some((p) => p.includes('[user] '))).toBe(examples);
    const rows = readFileSync(path.join(out, 'audited.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { turns: Array<{ examples?: Array<{ dialogueId: string }> }> });
    const shown = rows.flatMap((r) => r.turns.flatMap((t) => t.examples ?? []));
    const testIds = new Set(await loadSplitList(path.join(multiwozDir(), '2.1/testListFile')));
    if (examples) expect(shown.length).toBeGreaterThan(audit.turns);
    else expect(shown).toEqual([]);
    expect(shown.filter((e) => testIds.has(e.dialogueId))).toEqual([]);
    expect(audit.turns).toBe(
      real.slice(0, 3).flatMap((d) => d.turns.filter((t) => t.speaker === 'USER')).length,
    );
    expect(cli.output()).toMatch(/audit: \d+\/\d+ turns.*JGA raw/);

    const rescore = async (pred: string) => {
      const e = spawnCli(
        [
          'eval',
          '--convention',
          'trade',
          '--gold',
          path.join(out, 'gold/multiwoz22'),
          '--pred',
          path.join(out, pred),
          '--json',
        ],
        env,
      );
      expect(await e.exited).toBe(0);
      return lastJson(e.output());
    };
    const checked = await rescore('predictions.jsonl');
    const raw = await rescore('predictions.raw.jsonl');
    expect(checked.jga).toBe(audit.jga);
    expect(checked.turns).toBe(audit.turns);
    expect(checked).toMatchObject({ missingPredictions: 0, unmatchedPredictions: 0 });
    expect(raw.jga).toBe((audit.raw as { score: { jga: number } }).score.jga);

    const calls = server.total;
    const again = spawnCli(args, env);
    expect(await again.exited).toBe(0);
    expect(lastJson(again.output()).jga).toBe(audit.jga);
    expect(server.total - calls).toBe(1); // the preflight only
  },
  180_000,
);

/** First value of each gold slot: what a perfect labeller would answer. */
const goldAnswer = (s: Record<string, string[]> | undefined) =>
  Object.fromEntries(Object.entries(s ?? {}).map(([k, v]) => [k, v[0]!]));

test('planted label errors: raw JGA and per-slot errors as computed independently', async () => {
  const dialogues = real.slice(0, 3);
  const userTurns = dialogues.map((d) => d.turns.filter((t) => t.speaker === 'USER'));
  // The planted answers: the gold, with one error of each kind at a known turn.
  const planted = userTurns.map((turns) => turns.map((t) => goldAnswer(t.state)));
  const lastFilled = (i: number) => {
    const turns = planted[i]!;
    let t = turns.length - 1;
    while (t > 0 && Object.keys(turns[t]!).length === 0) t--;
    return t;
  };
  const missedAt = { d: 0, t: lastFilled(0) };
  const missedSlot = Object.keys(planted[0]![missedAt.t]!)[0]!;
  delete planted[0]![missedAt.t]![missedSlot];
  const wrongAt = { d: 1, t: lastFilled(1) };
  const wrongSlot = Object.keys(planted[1]![wrongAt.t]!)[0]!;
  planted[1]![wrongAt.t]![wrongSlot] = 'planted wrong value';
  const extraAt = { d: 2, t: 0 };
  const extraSlot = 'hotel-stars';
  expect(planted[2]![0]![extraSlot]).toBeUndefined();
  planted[2]![0]![extraSlot] = '5';

  // The labeller finds the dialogue by its first user line and the turn by counting user lines.
  const byFirst = new Map(dialogues.map((d, i) => [d.turns[0]!.utterance, i]));
  server.setResponder((req: LlmServerRequest) => {
    if (req.role !== ROLE.LABELLER) return req.structured ? {} : 'ok';
    const text = String(req.messages.at(-1)?.content ?? '');
    const lines = [...text.matchAll(/^USER: (.*)$/gm)].map((m) => m[1]!);
    const i = byFirst.get(lines[0]!)!;
    return { state: planted[i]![lines.length - 1]! };
  });

  const llm = createOpenAiClient({ apiKey: 'sk-test', baseURL: server.url, model: 'test-model' });
  const audited = await runLabelAudit({
    llm,
    deps: { ontology: loadOntology(), db: loadVenueDb() },
    dialogues,
    // Whole-state answers: the planted states are scored as they are.
    labeller: BASELINE_LABELLER,
  });
  const report = scoreAudit('trade', dialogues, audited);

  // Independently: every turn is right except the three planted ones.
  const total = userTurns.reduce((n, t) => n + t.length, 0);
  expect(report.raw.score.turns).toBe(total);
  expect(report.raw.score.jga).toBeCloseTo((total - 3) / total, 10);
  const errors = Object.fromEntries(report.raw.slotErrors.map((e) => [e.slot, e]));
  expect(report.raw.slotErrors.reduce((n, e) => n + e.total, 0)).toBe(3);
  expect(errors[missedSlot]).toMatchObject({ missed: 1, extra: 0, wrong: 0 });
  expect(errors[missedSlot]!.examples[0]).toMatchObject({
    kind: 'missed',
    dialogueId: dialogues[0]!.id,
    turn: missedAt.t,
  });
  expect(errors[wrongSlot]).toMatchObject({ missed: 0, extra: 0, wrong: 1 });
  expect(errors[wrongSlot]!.examples[0]).toMatchObject({ pred: 'planted wrong value', turn: wrongAt.t });
  expect(errors[extraSlot]).toMatchObject({ missed: 0, extra: 1, wrong: 0 });
  expect(errors[extraSlot]!.examples[0]).toMatchObject({ pred: '5', dialogueId: dialogues[extraAt.d]!.id });

  // The checks remove the extra value nobody said (`not_mentioned`), so it is no error after them.
  expect(audited[2]!.turns[0]!.raw[extraSlot]).toBe('5');
  expect(audited[2]!.turns[0]!.state[extraSlot]).toBeUndefined();
  expect(report.corrections.not_mentioned).toBeGreaterThanOrEqual(1);
  expect(report.checked.slotErrors.find((e) => e.slot === extraSlot)?.extra ?? 0).toBe(0);
}, 120_000);
