/**
 * The committed generated set (`examples/generated/`, exported from a durable `generate` run
 * with the default local model): `quality` reads it beside the real training split, every
 * dialogue passes the rule checks but those its provenance names, and its provenance names the run, commands and revision.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { lastJsonLine, REPO, spawnCli } from '../helpers/cli';

const DIR = path.join(REPO, 'examples/generated');
const summary = JSON.parse(readFileSync(path.join(DIR, 'summary.json'), 'utf8')) as {
  goals: number;
  accepted: number;
};
const lines = (file: string) => readFileSync(path.join(DIR, file), 'utf8').split('\n').filter(Boolean);

test('quality on examples/generated agrees with its summary', async () => {
  const q = spawnCli(['quality', DIR, '--json'], process.env);
  expect(await q.exited).toBe(0);
  const r = lastJsonLine<{
    generated: { dialogues: number; userTurns: number };
    real: { dialogues: number };
  }>(q.output());
  expect(r.generated.dialogues).toBe(summary.accepted);
  expect(r.generated.dialogues).toBe(lines('accepted.jsonl').length);
  expect(r.generated.userTurns).toBeGreaterThan(3 * r.generated.dialogues);
  expect(r.real.dialogues).toBeGreaterThan(7000);
}, 180_000);

test('every committed dialogue passes the rule checks but those the provenance names', async () => {
  const v = spawnCli(['validate', '--dialogues', path.join(DIR, 'data.json'), '--json'], process.env);
  expect(await v.exited).toBe(0);
  const r = lastJsonLine<{ dialogues: Array<{ id: string; accepted: boolean }>; accepted: number }>(
    v.output(),
  );
  expect(r.dialogues).toHaveLength(summary.accepted);
  const known =
    (
      JSON.parse(readFileSync(path.join(DIR, 'provenance.json'), 'utf8')) as {
        validateFailures?: Array<{ id: string }>;
      }
    ).validateFailures ?? [];
  expect(r.dialogues.filter((d) => !d.accepted).map((d) => d.id)).toEqual(known.map((k) => k.id));
}, 120_000);

test('the provenance names each run, its commands, revision and hours, and adds up to the summary', () => {
  const p = JSON.parse(readFileSync(path.join(DIR, 'provenance.json'), 'utf8')) as {
    model: string;
    parts: Array<{ runId: string; revision: string; commands: string[]; hours: number; accepted: number }>;
  };
  expect(p.model).toContain('qwen2.5');
  expect(p.parts.length).toBeGreaterThan(0);
  for (const part of p.parts) {
    expect(part.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(part.commands.some((c) => c.includes('generate') && c.includes(part.runId))).toBe(true);
    expect(part.commands.some((c) => c.startsWith('npx dst-synth export'))).toBe(true);
    expect(part.hours).toBeGreaterThan(0);
  }
  expect(p.parts.reduce((n, part) => n + part.accepted, 0)).toBe(summary.accepted);
});
