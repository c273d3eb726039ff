/**
 * The dialogues of one imported split, one per dialogue id. Several versions of a split may
 * be imported (a refined release, a fixed file); rows get increasing ids as they are
 * inserted, so per dialogue the row with the highest id is the newest import's.
 */
import { and, asc, desc, eq } from 'drizzle-orm';
import type { Dialogue } from '../multiwoz/types';
import type { Db } from './client';
import { dialogues } from './schema';

/** Sorted by dialogue id. */
export async function newestImport(db: Db, dataset: string, split: string): Promise<Dialogue[]> {
  const rows = await db
    .selectDistinctOn([dialogues.dialogueId], { content: dialogues.content })
    .from(dialogues)
    .where(and(eq(dialogues.dataset, dataset), eq(dialogues.split, split)))
    .orderBy(asc(dialogues.dialogueId), desc(dialogues.id));
  return rows.map((r) => r.content);
}
