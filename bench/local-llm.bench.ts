/**
 * Local-LLM generation benchmark (issue 8): the default local model on this machine, N goals
 * with a fixed seed, simulated in this process (no Temporal), once per mode, in one run:
 *
 *   npx tsx bench/local-llm.bench.ts [goals=3] [seed=3] [modes=single,pooled] [model=<name|path>] [source=mixed]
 *
 * Modes (the switch that allows a same-run comparison):
 * - `single`: the previous code path — one KV-cache sequence for every role and dialogue, so
 *   each call re-evaluates most of its prompt (user, system, labeller prompts alternate).
 * - `pooled`: one sequence per (goal, attempt, role), least recently used reassigned: a role's
 *   next call evaluates only the tokens its prompt added since its last call.
 * - `pooled2`: the same with two goals at once, decoded as parallel sequences in one batch.
 * - `fullhist2`: `pooled2` with the user's prompt showing the whole transcript (as
 *   `generate --concurrency 2` runs today), `window2`: the same with the user's prompt showing
 *   only the last 4 transcript lines (`userHistoryLines`).
 * - `examples0` / `examples1`: `pooled2` without / with a real visitor's turn for the same
 *   facts in the user's prompt (`userExamples`, simulator/user-examples.ts).
 * - `strict2` / `fallback2`: `pooled2` with a turn the LLM failed twice rejecting the attempt /
 *   written from the plan (agent) or taken from a real visitor turn (user).
 * Every mode labels as generation does: with the labeller's retrieved examples (training split).
 * Prints accepted dialogues per hour, minutes per accepted dialogue, and per role: calls,
 * evaluated vs total prompt tokens, completion tokens/s and seconds per call.
 */
import path from 'node:path';
import { createLocalLlamaClient } from '../llm/local';
import { resolveLocalModel } from '../llm/local-model';
import { loadDataset } from '../multiwoz/loaders';
import { loadOntology } from '../multiwoz/ontology';
import { multiwozDir } from '../multiwoz/paths';
import { loadVenueDb } from '../multiwoz/venues';
import { textTable } from '../common/text-table';
import { sampleGoals, type GoalSource } from '../simulator/goals';
import { estimateRevealStats } from '../simulator/reveal';
import { buildTurnRetriever, heldOutIds } from '../simulator/retrieval';
import { formatRoleTable } from '../simulator/role-usage';
import { simulateLocally, type GoalRun } from '../simulator/run-local';
import { REASON } from '../simulator/types';
import { sessionTracer } from '../simulator/trace';

interface Mode {
  sequences: number;
  concurrency: number;
  userHistoryLines?: number;
  userExamples?: boolean;
  /** `agentTemplate` and `userFallback` together (a turn failed twice: template / real turn). */
  fallback?: boolean;
}

const MODES: Record<string, Mode> = {
  single: { sequences: 1, concurrency: 1 },
  pooled: { sequences: 8, concurrency: 1 },
  pooled2: { sequences: 8, concurrency: 2 },
  fullhist2: { sequences: 8, concurrency: 2, userHistoryLines: Infinity },
  window2: { sequences: 8, concurrency: 2, userHistoryLines: 4 },
  examples0: { sequences: 8, concurrency: 2, userExamples: false },
  examples1: { sequences: 8, concurrency: 2, userExamples: true },
  strict2: { sequences: 8, concurrency: 2, fallback: false },
  fallback2: { sequences: 8, concurrency: 2, fallback: true },
};

/** Role checks that fired (corrected or fatal) and repeats, per 100 user turns of every attempt. */
function problemRates(runs: GoalRun[]): { roles: string; repeats: string; fallbacks: string } {
  const attempts = runs.flatMap((r) => r.attempts);
  const turns = attempts.flatMap((a) => a.turns.filter((t) => t.speaker === 'USER')).length;
  const count = (reasons: string[]) =>
    attempts.flatMap((a) => a.failures).filter((f) => reasons.includes(f.reason)).length;
  const per100 = (n: number) => (turns ? ((100 * n) / turns).toFixed(1) : '-');
  return {
    roles: per100(count([REASON.USER_AS_AGENT, REASON.AGENT_AS_USER, REASON.EMPTY_TURN])),
    repeats: per100(count([REASON.AGENT_REPEAT, REASON.REPEATED_TURN, REASON.ALREADY_ANSWERED])),
    fallbacks: per100(count([REASON.AGENT_TEMPLATE, REASON.USER_EXAMPLE])),
  };
}

async function main() {
  const [goalsArg, seedArg, modesArg, modelArg, sourceArg] = process.argv.slice(2);
  const goalsN = Number(goalsArg ?? 3);
  const seed = Number(seedArg ?? 3);
  const modes = (modesArg ?? 'single,pooled').split(',');
  const unknown = modes.filter((m) => !(m in MODES));
  if (unknown.length)
    throw new Error(`unknown mode ${unknown.join(', ')}: one of ${Object.keys(MODES).join(', ')}`);
  const source = (sourceArg ?? 'mixed') as GoalSource;
  const modelPath = resolveLocalModel(modelArg);
  const train = await loadDataset({
    source: path.join(multiwozDir(), '2.1/train-dev-test.star-tsv.zip'),
    split: 'train',
  });
  const db = loadVenueDb();
  const ontology = loadOntology();
  const stats = estimateRevealStats(train);
  const retriever = buildTurnRetriever(train, { split: 'train', excludeIds: await heldOutIds() });
  const goals = sampleGoals({
    count: goalsN,
    seed,
    source,
    trainDialogues: train,
    deps: { db, ontology },
  });
  const rows: string[][] = [
    [
      'mode',
      'goals',
      'accepted',
      'user turns/dlg',
      'minutes',
      'min/accepted',
      'accepted/h',
      'calls',
      'evaluated/prompt',
      'role problems/100 turns',
      'repeats/100 turns',
      'fallback turns/100 turns',
    ],
  ];
  const details: string[] = [];
  for (const mode of modes) {
    const { sequences, concurrency, userHistoryLines, userExamples, fallback } = MODES[mode]!;
    const llm = createLocalLlamaClient({ modelPath, temperature: 0.5, maxTokens: 512, sequences });
    await llm.preflight?.(); // model load is not generation time
    try {
      const { runs, summary } = await simulateLocally(
        goals,
        { llm, db, ontology, stats, retriever },
        {
          seed,
          paraphrases: 0,
          concurrency,
          ...(userHistoryLines !== undefined ? { userHistoryLines } : {}),
          ...(userExamples !== undefined ? { userExamples } : {}),
          ...(fallback !== undefined ? { agentTemplate: fallback, userFallback: fallback } : {}),
          onGoal: (_r, done) => console.error(`${mode}: goal ${done}/${goalsN}`),
          // TRACE=1 prints every turn as it is made (stderr).
          ...(process.env.TRACE ? { onStep: sessionTracer((l) => console.error(`${mode} ${l}`)) } : {}),
        },
      );
      const minutes = summary.seconds / 60;
      const rates = problemRates(runs);
      const accepted = runs.filter((r) => r.accepted);
      const userTurns = accepted.flatMap((r) => r.accepted!.turns.filter((t) => t.speaker === 'USER')).length;
      const roles = summary.usage.byRole ?? {};
      const evaluated = Object.values(roles).reduce((n, u) => n + u.evaluatedTokens, 0);
      rows.push([
        mode,
        String(goalsN),
        String(summary.accepted),
        summary.accepted ? (userTurns / summary.accepted).toFixed(1) : '-',
        minutes.toFixed(1),
        summary.accepted ? (minutes / summary.accepted).toFixed(1) : '-',
        ((60 * summary.accepted) / minutes).toFixed(1),
        String(summary.usage.calls),
        `${evaluated}/${summary.usage.promptTokens} (${Math.round((100 * evaluated) / Math.max(1, summary.usage.promptTokens))}%)`,
        rates.roles,
        rates.repeats,
        rates.fallbacks,
      ]);
      details.push(
        `${mode}: rejected attempts ${JSON.stringify(summary.reasons)}, corrections ${JSON.stringify(summary.corrections)}\n` +
          formatRoleTable(roles),
      );
    } finally {
      await llm.close();
    }
  }
  console.log(`model ${path.basename(modelPath)}, seed ${seed}, ${source} goals, paraphrases 0`);
  console.log(textTable(rows));
  console.log('\nper role:\n' + details.join('\n\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
