import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { createLlmClient } from '../../llm/config';
import { preflight } from '../../llm/errors';
import type { LlmClient } from '../../llm/types';
import { writeExport } from '../../multiwoz/export';
import { loadDataset } from '../../multiwoz/loaders';
import { loadOntology } from '../../multiwoz/ontology';
import { multiwozDir } from '../../multiwoz/paths';
import { loadVenueDb } from '../../multiwoz/venues';
import { sampleGoals } from '../../simulator/goals';
import { estimateRevealStats } from '../../simulator/reveal';
import { buildTurnRetriever, heldOutIds } from '../../simulator/retrieval';
import { formatRoleTable } from '../../simulator/role-usage';
import { sessionTracer } from '../../simulator/trace';
import { simulateLocally, type GoalRun, type LocalRunSummary } from '../../simulator/run-local';
import { GenerationCliOptions, parseOptions, providerOf } from '../options';
import { progressView } from '../progress';

/** Rough per-dialogue cost used for the plan printed before any call (paper: 13.6 turns). */
export const PLAN_PER_DIALOGUE = { calls: 28, promptTokens: 9000, completionTokens: 900 } as const;

const SimulateOptions = GenerationCliOptions.extend({
  goals: z.coerce.number().int().positive().max(100_000).default(20),
  out: z.string().min(1),
  concurrency: z.coerce.number().int().min(1).max(64).default(1),
  json: z.boolean().default(false),
  trace: z.boolean().default(false),
});
type Opts = z.infer<typeof SimulateOptions>;

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('Generate dialogues in this process (no Temporal): quick experiments with the simulator')
    .option('--goals <n>', 'number of goals', '20')
    .option('--seed <s>', 'seed for goals, plans and choices', '1')
    .requiredOption('--out <dir>', 'folder for the dialogues (2.2 layout and data.json) and the report')
    .option('--goal-source <kind>', 'real | database | mixed (80% real)', 'mixed')
    .option(
      '--train <path>',
      'real training dialogues for goals and reveal rates (default: offline 2.1 train)',
    )
    .option('--provider <name>', 'openai | local (default: openai when OPENAI_API_KEY is set, else local)')
    .option(
      '--model <name>',
      'openai: model name; local: qwen2.5-coder-1.5b-instruct (default), smollm2-135m-instruct or a .gguf path',
    )
    .option('--base-url <url>', 'OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else OpenAI)')
    .option('--paraphrases <n>', 'rewrites asked per user utterance (0: off)', '3')
    .option('--concurrency <n>', 'goals simulated at once', '1')
    .option('--json', 'print the summary as one JSON object')
    .option('--trace', 'print every turn and its state to stderr as it is made')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(SimulateOptions, raw);
      await runSimulate(opts);
    });
}

function llmFor(opts: Opts): LlmClient {
  const provider = providerOf(opts.provider);
  return createLlmClient({ provider, model: opts.model, baseURL: opts.baseUrl });
}

async function runSimulate(opts: Opts): Promise<void> {
  const llm = llmFor(opts);
  try {
    console.error(planLine(opts, llm.model));
    await preflight(llm);
    const train = await loadDataset({
      source: opts.train ?? path.join(multiwozDir(), '2.1/train-dev-test.star-tsv.zip'),
      split: 'train',
    });
    const db = loadVenueDb();
    const ontology = loadOntology();
    const goals = sampleGoals({
      count: opts.goals,
      seed: opts.seed,
      source: opts.goalSource,
      trainDialogues: train,
      deps: { db, ontology },
    });
    // The labeller's worked examples: the same training split, without any dev or test dialogue.
    const retriever = buildTurnRetriever(train, { split: 'train', excludeIds: await heldOutIds() });
    const deps = { llm, db, ontology, stats: estimateRevealStats(train), retriever };
    const view = progressView('simulate');
    const { runs, summary } = await simulateLocally(goals, deps, {
      seed: opts.seed,
      paraphrases: opts.paraphrases,
      concurrency: opts.concurrency,
      onGoal: (_r, done) => view.update(done, goals.length),
      ...(opts.trace ? { onStep: sessionTracer((l) => console.error(l)) } : {}),
    });
    view.stop();
    await writeResults(opts.out, runs, summary);
    console.log(opts.json ? JSON.stringify(summary) : formatSummary(summary, opts.out));
  } finally {
    await llm.close?.();
  }
}

function planLine(opts: Opts, model: string): string {
  const p = PLAN_PER_DIALOGUE;
  const n = opts.goals;
  return (
    `plan: ${n} goals with ${model} (up to 3 attempts each): about ${n * p.calls} LLM calls, ` +
    `${((n * (p.promptTokens + p.completionTokens)) / 1000).toFixed(0)}k tokens for one attempt per goal`
  );
}

async function writeResults(out: string, runs: GoalRun[], summary: LocalRunSummary): Promise<void> {
  mkdirSync(out, { recursive: true });
  const accepted = runs.flatMap((r) => (r.accepted ? [r.accepted] : []));
  if (accepted.length) await writeExport({ dialogues: accepted, outDir: out });
  const rejected = runs.flatMap((r) =>
    r.attempts
      .filter((a) => !a.accepted)
      .map((a, i) => ({
        goal_index: r.index,
        attempt: i + 1,
        reason: a.reason,
        failures: a.failures,
        turns: a.turns,
      })),
  );
  // The accepted attempts with system acts, entities and corrected checks, beyond what MultiWOZ layouts hold.
  const details = runs.flatMap((r) => {
    const a = r.attempts[r.attempts.length - 1];
    return r.accepted && a
      ? [{ goal_index: r.index, id: r.accepted.id, failures: a.failures, usage: a.usage, turns: a.turns }]
      : [];
  });
  writeFileSync(
    path.join(out, 'accepted.jsonl'),
    details.map((d) => JSON.stringify(d)).join('\n') + (details.length ? '\n' : ''),
  );
  writeFileSync(
    path.join(out, 'rejected.jsonl'),
    rejected.map((r) => JSON.stringify(r)).join('\n') + (rejected.length ? '\n' : ''),
  );
  writeFileSync(
    path.join(out, 'goals.jsonl'),
    runs.map((r) => JSON.stringify({ index: r.index, goal: r.goal })).join('\n') + '\n',
  );
  writeFileSync(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
}

export function formatSummary(s: LocalRunSummary, out: string): string {
  const reasons = Object.entries(s.reasons).map(([r, n]) => `    ${r}: ${n}`);
  const fixes = Object.entries(s.corrections).map(([r, n]) => `    ${r}: ${n}`);
  const perDialogue = s.goals ? s.seconds / s.goals : 0;
  return [
    `goals ${s.goals}: accepted ${s.accepted}, rejected ${s.rejected}`,
    `  rejected attempts by reason:${reasons.length ? '\n' + reasons.join('\n') : ' none'}`,
    `  corrected labels in accepted dialogues:${fixes.length ? '\n' + fixes.join('\n') : ' none'}`,
    `  LLM calls ${s.usage.calls}, tokens ${s.usage.promptTokens} prompt + ${s.usage.completionTokens} completion, cost $${s.usage.costUsd.toFixed(4)}`,
    `  ${s.seconds.toFixed(1)} s (${perDialogue.toFixed(1)} s per goal${s.accepted ? `, ${(s.seconds / 60 / s.accepted).toFixed(1)} min per accepted dialogue` : ''})`,
    ...(s.usage.byRole
      ? [
          '  per role:',
          ...formatRoleTable(s.usage.byRole)
            .split('\n')
            .map((l) => `    ${l}`),
        ]
      : []),
    `  written to ${out} (multiwoz22/, data.json, accepted.jsonl, rejected.jsonl, summary.json)`,
  ].join('\n');
}
