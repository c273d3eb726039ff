/**
 * `assembleDataset`: the pipeline's training and test files from Postgres — stage 1
 * (generated), stage 2 and baseline (real), k-real subsets and the domain-replacement
 * variant — with sizes and hashes recorded in `datasets`.
 */
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { datasets, dialogues } from '../db/schema';
import type { Dialogue } from '../multiwoz/types';
import { writeExamples } from '../training/examples';
import { replaceDomain, sampleK } from '../training/variants';
import type { AssembleInput, AssembledFile } from './pipeline-types';
import { FAILURE } from '../common/failure-types';

async function loadReal(db: Db, dataset: string, split: string): Promise<Dialogue[]> {
  const rows = await db
    .select({ content: dialogues.content })
    .from(dialogues)
    .where(and(eq(dialogues.dataset, dataset), eq(dialogues.split, split)))
    .orderBy(asc(dialogues.id));
  // Several imported versions may coexist; the newest import wins per id.
  const byId = new Map<string, Dialogue>();
  for (const r of rows) byId.set(r.content.id, r.content);
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

async function loadGenerated(db: Db, runId: string): Promise<Dialogue[]> {
  const rows = await db
    .select({ content: dialogues.content })
    .from(dialogues)
    .where(and(eq(dialogues.runId, runId), eq(dialogues.source, 'generated')))
    .orderBy(asc(dialogues.dialogueId));
  return rows.map((r) => r.content);
}

function beat(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // called outside an activity
  }
}

export function createAssembleActivities(deps: { db: Db }) {
  const { db } = deps;
  const record = async (runId: string, name: string, f: Awaited<ReturnType<typeof writeExamples>>) => {
    const row = {
      runId,
      name,
      path: f.path,
      dialogues: f.dialogues,
      examples: f.examples,
      bytes: f.bytes,
      sha256: f.sha256,
    };
    await db
      .insert(datasets)
      .values(row)
      .onConflictDoUpdate({
        target: [datasets.runId, datasets.name],
        set: { ...row, createdAt: sql`now()` },
      });
    return { name, path: f.path, dialogues: f.dialogues, examples: f.examples, sha256: f.sha256 };
  };

  return {
    async assembleDataset(input: AssembleInput): Promise<AssembledFile[]> {
      const load = (r: { dataset: string; split: string }) => loadReal(db, r.dataset, r.split);
      const file = (name: string) => path.join(input.outDir, `${name}.jsonl`);
      const out: AssembledFile[] = [];
      const write = async (name: string, ds: Dialogue[]) => {
        out.push(await record(input.runId, name, await writeExamples(file(name), ds)));
        beat(); // a matrix has many files: each one is progress
      };
      // Check every source before writing anything.
      for (const r of [...input.versions.map((v) => v.real), ...input.tests.map((t) => t.source)]) {
        const [c] = await db
          .select({ n: sql<number>`count(*)::int` })
          .from(dialogues)
          .where(and(eq(dialogues.dataset, r.dataset), eq(dialogues.split, r.split)));
        if (!c?.n)
          throw ApplicationFailure.nonRetryable(
            `no ${r.dataset}/${r.split} dialogues in the database: import them first`,
            FAILURE.NO_REAL_DATA,
          );
      }
      const generated = await loadGenerated(db, input.generationRunId);
      await write('generated', generated);
      for (const v of input.versions) {
        const allReal = await load(v.real);
        const real = input.realLimit ? sampleK(allReal, input.realLimit, input.seed) : allReal;
        await write(`${v.prefix}real`, real);
        for (const k of v.kReal) await write(`${v.prefix}real-k${k}`, sampleK(real, k, input.seed));
        for (const domain of v.replaceDomains) {
          const r = replaceDomain(real, generated, domain, input.seed);
          await write(`${v.prefix}replace-${domain}`, r.dialogues);
        }
      }
      for (const t of input.tests) {
        const allTest = await load(t.source);
        await write(t.name, input.testLimit ? sampleK(allTest, input.testLimit, input.seed) : allTest);
      }
      return out;
    },
  };
}
