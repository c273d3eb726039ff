/**
 * User goals for simulated dialogues (DESIGN.md §3.1): either the final state of a real
 * training dialogue (with an occasional value swap for diversity) or a venue picked from the
 * database plus booking values. `checkGoal` makes sure every goal can be met, turning a goal
 * that cannot into a planned preference change ("no 5-star hotels in the west? then 4 stars").
 *
 * Everything random goes through a seeded `Rng`, so a seed reproduces the same goals. This
 * file samples many goals; one goal is built in `goal-real.ts` or `goal-database.ts` from the
 * values of `goal-values.ts`, and checked in `goal-check.ts`.
 */
import type { Dialogue } from '../multiwoz/types';
import type { Goal } from './goal-types';
import { createRng, deriveSeed, type Rng } from './rng';
import { checkGoal } from './goal-check';
import { databaseGoal } from './goal-database';
import { goalFromDialogue } from './goal-real';
import { DEFAULT_REAL_SHARE, shuffled, type GoalDeps } from './goal-values';

// Tries per goal index before `sampleGoals` gives up (real goals are satisfiable ~all the time).
const MAX_ATTEMPTS = 1000;

export type GoalSource = 'real' | 'database' | 'mixed';

/** Options of `sampleGoals`. */
export interface SampleGoalsOptions {
  count: number;
  seed: number;
  /** Index of the first goal (goals `from … from+count-1`); goal i never depends on it. Default 0. */
  from?: number;
  /** Default `'mixed'`: real goals with probability `realShare`, database goals otherwise. */
  source?: GoalSource;
  /** Training dialogues real goals come from; required unless `source` is `'database'`. */
  trainDialogues?: readonly Dialogue[];
  deps: GoalDeps;
  /** Share of real goals in `'mixed'`; default 0.8. */
  realShare?: number;
  /** See `goalFromDialogue`; default 0.1. */
  swapProbability?: number;
  /** See `checkGoal`; default 0.1. */
  changeProbability?: number;
  /** See `databaseGoal`; default 3. */
  maxDomains?: number;
}

export interface SampledGoal {
  index: number;
  goal: Goal;
}

interface SamplingContext {
  opts: SampleGoalsOptions;
  dialogues: readonly Dialogue[];
  /** Seeded order of the dialogues: goal i starts at order[i], so goals rarely repeat. */
  order: number[];
}

/** Candidate goal for one attempt; undefined when the dialogue has no tracked domain. */
function candidate(ctx: SamplingContext, index: number, attempt: number, real: boolean, rng: Rng) {
  const { deps, swapProbability, maxDomains } = ctx.opts;
  if (!real) return databaseGoal(rng, deps, { domains: maxDomains });
  const n = ctx.dialogues.length;
  const position = attempt === 0 ? (ctx.order[index % n] ?? 0) : rng.int(n);
  const dialogue = ctx.dialogues[position];
  return dialogue && goalFromDialogue(dialogue, rng, deps, { swapProbability });
}

function sampleOne(ctx: SamplingContext, index: number): Goal {
  const { opts } = ctx;
  const rng = createRng(deriveSeed(opts.seed, index));
  const source = opts.source ?? 'mixed';
  const real =
    source === 'real' || (source === 'mixed' && rng.next() < (opts.realShare ?? DEFAULT_REAL_SHARE));
  const checkOpts = { rng, ontology: opts.deps.ontology, changeProbability: opts.changeProbability };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const goal = candidate(ctx, index, attempt, real, rng);
    if (!goal) continue;
    const checked = checkGoal(goal, opts.deps.db, checkOpts);
    if (checked.satisfiable) return checked.goal;
  }
  throw new Error(`no satisfiable goal for index ${index} after ${MAX_ATTEMPTS} attempts`);
}

/**
 * `count` checked, satisfiable goals, deterministic for `seed`. Goal i uses its own generator
 * (`deriveSeed(seed, i)`), so it is the same whatever `count` is. Real goals start from a
 * seeded permutation of the training dialogues (goal i takes dialogue order[i mod n], so
 * dialogues repeat only past n goals); a dialogue without a tracked domain or with an
 * unsatisfiable goal is replaced by random draws from the same generator.
 *
 * @throws when real goals are needed and `trainDialogues` is empty or missing.
 */
export function sampleGoals(opts: SampleGoalsOptions): SampledGoal[] {
  const source = opts.source ?? 'mixed';
  const dialogues = opts.trainDialogues ?? [];
  if (source !== 'database' && dialogues.length === 0)
    throw new Error(`sampleGoals: source "${source}" needs trainDialogues (or use source "database")`);
  const order = shuffled(
    dialogues.map((_, i) => i),
    createRng(deriveSeed(opts.seed, 'dialogue-order')),
  );
  const ctx: SamplingContext = { opts, dialogues, order };
  const from = Math.max(0, Math.floor(opts.from ?? 0));
  return Array.from({ length: Math.max(0, Math.floor(opts.count)) }, (_, i) => ({
    index: from + i,
    goal: sampleOne(ctx, from + i),
  }));
}
