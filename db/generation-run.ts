/** Which generation run a run id names: `export`, `quality` and the report read through it. */
import { eq } from 'drizzle-orm';
import type { Db } from './client';
import { runs } from './schema';

/** The generation run behind `runId`: itself, or a pipeline's `<id>-generate`. */
export async function generationRunOf(db: Db, runId: string): Promise<string> {
  const [run] = await db.select({ kind: runs.kind }).from(runs).where(eq(runs.id, runId));
  if (!run) throw new Error(`no run ${runId} in the database`);
  if (run.kind === 'generate') return runId;
  if (run.kind === 'pipeline') return generationRunOf(db, `${runId}-generate`);
  throw new Error(`run ${runId} is a ${run.kind} run: export takes a generation or pipeline run`);
}
