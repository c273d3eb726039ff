/**
 * The dialogues of a review set, sampled where they are stored: a folder in the layout
 * `simulate --out` and `export` write (the MultiWOZ files, with `accepted.jsonl` for each
 * dialogue's corrections and system acts), any other MultiWOZ file or folder (no corrections
 * then), or a generation or pipeline run in Postgres (the tables `export` reads).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { and, asc, eq, inArray, isNotNull } from 'drizzle-orm';
import { z } from 'zod';
import { generationRunOf } from '../db/generation-run';
import type { Db } from '../db/client';
import { dialogues, generationAttempts, generationGoals, GOAL_STATUS } from '../db/schema';
import { loadDataset } from '../multiwoz/loaders';
import type { Dialogue } from '../multiwoz/types';
import {
  sampleIds,
  type ReviewCorrection,
  type ReviewDialogue,
  type ReviewSet,
  type ReviewTurn,
} from './review';

/** What is sampled: how many dialogues, with which seed. */
export interface ReviewSampling {
  /** Dialogues in the set (fewer when the source has fewer). */
  sample: number;
  /** Seed of the sampling: the same seed gives the same dialogues. */
  seed: number;
}

/** The fields of an `accepted.jsonl` line (or an accepted attempt row) the review shows. */
const AcceptedDetail = z.object({
  id: z.string(),
  failures: z.array(
    z.object({ reason: z.string(), turn: z.number().int(), slot: z.string().optional(), detail: z.string() }),
  ),
  turns: z.array(
    z.object({
      speaker: z.enum(['USER', 'SYSTEM']),
      action: z.string().optional(),
      entity: z.string().optional(),
    }),
  ),
});
type AcceptedDetail = z.infer<typeof AcceptedDetail>;

function jsonOrUndefined(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** `accepted.jsonl` by dialogue id; an empty map when the folder has none. */
function acceptedDetails(file: string): Map<string, AcceptedDetail> {
  const out = new Map<string, AcceptedDetail>();
  if (!existsSync(file)) return out;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const r = AcceptedDetail.safeParse(jsonOrUndefined(line));
      if (!r.success) {
        const issue = r.error.issues[0];
        const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
        throw new Error(
          `${file}:${i + 1}: not an accepted-dialogue line (${where}${issue?.message ?? 'not JSON'})`,
        );
      }
      out.set(r.data.id, r.data);
    });
  return out;
}

/** The dialogue with its corrections and system acts, when `detail` is the same dialogue. */
function reviewDialogue(
  d: Dialogue,
  detail: Pick<AcceptedDetail, 'failures' | 'turns'> | undefined,
): ReviewDialogue {
  // Acts pair with turns by position; a detail of another length is not this dialogue's.
  const acts = detail && detail.turns.length === d.turns.length ? detail.turns : undefined;
  const turns = d.turns.map((t, i): ReviewTurn => {
    const a = acts?.[i];
    return {
      speaker: t.speaker,
      utterance: t.utterance,
      ...(t.state ? { state: t.state } : {}),
      ...(a?.action ? { action: a.action } : {}),
      ...(a?.entity ? { entity: a.entity } : {}),
    };
  });
  const corrections: ReviewCorrection[] | undefined = detail?.failures.map((f) => ({ ...f }));
  return { id: d.id, services: d.services, turns, ...(corrections ? { corrections } : {}) };
}

/**
 * A folder or MultiWOZ file. A `simulate`/`export` folder is read from its lossless 2.2 copy
 * (`multiwoz22/`; `data.json` keeps one value per slot) and its `accepted.jsonl`.
 */
export async function reviewFromFolder(source: string, opts: ReviewSampling): Promise<ReviewSet> {
  const abs = path.resolve(source);
  const isDir = statSync(abs).isDirectory();
  const v22 = path.join(abs, 'multiwoz22');
  const all = await loadDataset({ source: isDir && existsSync(v22) ? v22 : abs });
  const details = acceptedDetails(path.join(isDir ? abs : path.dirname(abs), 'accepted.jsonl'));
  const chosen = new Set(
    sampleIds(
      all.map((d) => d.id),
      opts.sample,
      opts.seed,
    ),
  );
  return {
    source: abs,
    seed: opts.seed,
    total: all.length,
    dialogues: all.filter((d) => chosen.has(d.id)).map((d) => reviewDialogue(d, details.get(d.id))),
  };
}

/**
 * A generation run, or a pipeline run's generation step: the accepted goals' ids are sampled
 * first, so only the sampled dialogues and their accepted attempts are read.
 */
export async function reviewFromDb(db: Db, runId: string, opts: ReviewSampling): Promise<ReviewSet> {
  const gen = await generationRunOf(db, runId);
  const goals = await db
    .select({ goalIndex: generationGoals.goalIndex, dialogueId: generationGoals.dialogueId })
    .from(generationGoals)
    .where(
      and(
        eq(generationGoals.runId, gen),
        eq(generationGoals.status, GOAL_STATUS.ACCEPTED),
        isNotNull(generationGoals.dialogueId),
      ),
    )
    .orderBy(asc(generationGoals.goalIndex));
  const ids = goals.flatMap((g) => (g.dialogueId ? [g.dialogueId] : []));
  const chosen = sampleIds(ids, opts.sample, opts.seed);
  const picked = goals.filter((g) => g.dialogueId && chosen.includes(g.dialogueId));
  if (!picked.length) return { source: gen, seed: opts.seed, total: ids.length, dialogues: [] };
  const rows = await db
    .select({ id: dialogues.dialogueId, content: dialogues.content })
    .from(dialogues)
    .where(
      and(eq(dialogues.runId, gen), eq(dialogues.source, 'generated'), inArray(dialogues.dialogueId, chosen)),
    );
  const attempts = await db
    .select({
      goalIndex: generationAttempts.goalIndex,
      failures: generationAttempts.failures,
      turns: generationAttempts.turns,
    })
    .from(generationAttempts)
    .where(
      and(
        eq(generationAttempts.runId, gen),
        eq(generationAttempts.accepted, true),
        inArray(
          generationAttempts.goalIndex,
          picked.map((g) => g.goalIndex),
        ),
      ),
    );
  const content = new Map(rows.map((r) => [r.id, r.content]));
  const attemptOf = new Map(attempts.map((a) => [a.goalIndex, a]));
  const set = picked.flatMap((g) => {
    const d = g.dialogueId ? content.get(g.dialogueId) : undefined;
    return d ? [reviewDialogue(d, attemptOf.get(g.goalIndex))] : [];
  });
  return { source: gen, seed: opts.seed, total: ids.length, dialogues: set };
}
