/** One module of failure types (`common/failure-types.ts`), used by every thrower and policy. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FAILURE, LLM_FAILURE, LLM_FATAL, TRAINER_FAILURE } from '../../common/failure-types';
import { LlmFailureType } from '../../llm/errors';
import { GPU_NON_RETRYABLE } from '../../workflows/pipeline';

const ROOT = path.join(__dirname, '../..');
/** Source folders (not tests, which may spell a type out to check it). */
const SOURCES = ['activities', 'audit', 'bench', 'client', 'db', 'infra', 'llm', 'metrics', 'multiwoz'];
SOURCES.push('pipeline', 'reporting', 'simulator', 'training', 'worker', 'workflows', 'common');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

test('the gpu queue does not retry a trainer failure that a retry cannot fix', () => {
  // Crashes and stalls are retried (a killed worker, a hung process): the trainer resumes.
  const retried: string[] = [TRAINER_FAILURE.CRASH, TRAINER_FAILURE.STALLED];
  const fatal = Object.values(TRAINER_FAILURE).filter((t) => !retried.includes(t));
  expect(fatal).toContain(TRAINER_FAILURE.DISK_FULL);
  for (const t of fatal) expect(GPU_NON_RETRYABLE).toContain(t);
  for (const t of retried) expect(GPU_NON_RETRYABLE).not.toContain(t);
});

test('the LLM layer maps to the shared types, and its fatal ones are among them', () => {
  expect(LlmFailureType).toBe(LLM_FAILURE);
  for (const t of LLM_FATAL) expect(Object.values(LLM_FAILURE)).toContain(t);
});

test('no failure type is spelt out as a bare string outside common/failure-types.ts', () => {
  const types = [...Object.values(FAILURE), ...Object.values(TRAINER_FAILURE), ...Object.values(LLM_FAILURE)];
  expect(new Set(types).size).toBe(types.length);
  const quoted = new RegExp(`(['"\`])(${types.join('|')})\\1`, 'g');
  const own = path.join(ROOT, 'common/failure-types.ts');
  const found: string[] = [];
  for (const file of SOURCES.flatMap((d) => tsFiles(path.join(ROOT, d)))) {
    if (file === own) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const m of line.matchAll(quoted)) found.push(`${path.relative(ROOT, file)}:${i + 1}: ${m[0]}`);
    });
  }
  expect(found).toEqual([]);
});
