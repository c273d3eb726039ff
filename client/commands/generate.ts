import { DEFAULT_LOCAL_MODEL, LOCAL_MODEL_ENV } from '../../llm/local-model';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { GenerationConfig } from '../../activities/generate-types';
import { loadSettings } from '../../infra/settings';
import { createLlmClient } from '../../llm/config';
import { preflight } from '../../llm/errors';
import {
  cancelGeneration,
  generationStatus,
  newRunId,
  parseGenerationConfig,
  pauseGeneration,
  resumeGeneration,
  startGeneration,
  type RunStatus,
} from '../generation';
import { GenerationCliOptions, parseOptions, providerOf } from '../options';
import { followPipeline } from '../follow-pipeline';
import { PipelineWatcher } from '../pipeline-status';
import { Rates, renderSnapshot } from '../pipeline-view';
import { progressView } from '../progress';
import { connectClient, workflowUiUrl } from '../temporal';
import { PLAN_PER_DIALOGUE } from './simulate';

const GenerateOptions = GenerationCliOptions.extend({
  goals: z.coerce.number().int().positive().max(100_000),
  concurrency: z.coerce.number().int().min(1).max(1000).default(8),
  batchSize: z.coerce.number().int().min(1).max(1000).default(50),
  maxAttempts: z.coerce.number().int().min(1).max(10).default(3),
  rpm: z.coerce.number().positive().optional(),
  tpm: z.coerce.number().positive().optional(),
  promptPrice: z.coerce.number().nonnegative().optional(),
  completionPrice: z.coerce.number().nonnegative().optional(),
  heartbeatTimeout: z.coerce.number().int().min(2).max(3600).default(10),
  runId: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .optional(),
  watch: z.boolean().default(false),
});
type Opts = z.infer<typeof GenerateOptions>;

function configFrom(o: Opts): GenerationConfig {
  const provider = providerOf(o.provider);
  const prices =
    o.promptPrice !== undefined && o.completionPrice !== undefined
      ? { promptPerMTok: o.promptPrice, completionPerMTok: o.completionPrice }
      : undefined;
  return parseGenerationConfig({
    goals: o.goals,
    seed: o.seed,
    goalSource: o.goalSource,
    train: o.train,
    llm: { provider, model: o.model, baseURL: o.baseUrl, ...(prices ? { prices } : {}) },
    paraphrases: o.paraphrases,
    concurrency: o.concurrency,
    batchSize: o.batchSize,
    maxAttempts: o.maxAttempts,
    rpm: o.rpm,
    tpm: o.tpm,
    heartbeatTimeoutSeconds: o.heartbeatTimeout,
  });
}

/** What the run will cost, printed before anything is spent. */
export function formatPlan(c: GenerationConfig): string {
  const p = PLAN_PER_DIALOGUE;
  const calls = c.goals * p.calls;
  const prompt = c.goals * p.promptTokens;
  const completion = c.goals * p.completionTokens;
  const prices = c.llm.prices;
  const cost = prices
    ? (prompt * prices.promptPerMTok + completion * prices.completionPerMTok) / 1e6
    : undefined;
  const minutes = c.rpm ? calls / c.rpm : undefined;
  const local = c.llm.provider === 'local';
  // The model the worker will resolve: a local run names the catalogued default, not "default".
  const model = c.llm.model ?? (local ? process.env[LOCAL_MODEL_ENV] || DEFAULT_LOCAL_MODEL : 'default');
  return [
    `plan: ${c.goals} goals (seed ${c.seed}, ${c.goalSource} goals) with ${c.llm.provider ?? 'openai'}:${model}`,
    `  about ${calls.toLocaleString('en')} LLM calls, ${(prompt / 1e6).toFixed(2)}M prompt + ${(completion / 1e6).toFixed(2)}M completion tokens (one attempt per goal; failed attempts add more)`,
    `  estimated cost: ${local ? 'none (local model, this machine)' : cost === undefined ? 'unknown (pass --prompt-price and --completion-price, USD per million tokens)' : `$${cost.toFixed(2)}`}`,
    `  ${c.concurrency} dialogues in flight, batches of ${c.batchSize}${minutes ? `; at ${c.rpm} rpm about ${minutes.toFixed(0)} min` : ''}`,
  ].join('\n');
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const { client, close } = await connectClient(loadSettings());
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('Start a durable generation run on Temporal (workers do the LLM calls)')
    .requiredOption('--goals <n>', 'number of goals (dialogues to attempt), up to 100000')
    .option('--seed <s>', 'seed of goals, plans and choices', '1')
    .option('--goal-source <kind>', 'real | database | mixed (80% real)', 'mixed')
    .option('--train <path>', 'training dialogues on the workers (default: offline 2.1 train)')
    .option('--provider <name>', 'openai | local (default: openai when OPENAI_API_KEY is set, else local)')
    .option('--model <name>', 'openai: model name; local: path of a .gguf file')
    .option('--base-url <url>', 'OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else OpenAI)')
    .option('--paraphrases <n>', 'rewrites asked per user utterance (0: off)', '3')
    .option('--concurrency <n>', 'dialogues in flight across the run', '8')
    .option('--batch-size <n>', 'goals per child workflow', '50')
    .option('--max-attempts <n>', 'attempts per goal before it is rejected', '3')
    .option('--rpm <n>', 'LLM requests per minute per worker for this run')
    .option('--tpm <n>', 'LLM tokens per minute per worker for this run')
    .option('--prompt-price <usd>', 'USD per million prompt tokens (cost estimates)')
    .option('--completion-price <usd>', 'USD per million completion tokens (cost estimates)')
    .option('--run-id <id>', 'run id (default: gen-<time>-<random>)')
    .option(
      '--heartbeat-timeout <s>',
      "seconds before a dead worker's dialogue moves to another worker",
      '10',
    )
    .option('--watch', 'follow the run with a progress bar until it ends')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(GenerateOptions, raw);
      const config = configFrom(opts);
      console.log(formatPlan(config));
      await checkLlm(config);
      const settings = loadSettings();
      const runId = opts.runId ?? newRunId();
      await withClient(async (client) => {
        await startGeneration(client, runId, config);
        console.log(`run ${runId} started — ${workflowUiUrl(settings, runId)}`);
        if (opts.watch) await watch(client, runId);
      });
    });

  const runCommand = (
    name: string,
    description: string,
    fn: (client: Client, runId: string, o: Record<string, unknown>) => Promise<void>,
  ) =>
    program
      .command(`${name} <run>`)
      .description(description)
      .action((runId: string, o: Record<string, unknown>) => withClient((client) => fn(client, runId, o)));

  runCommand(
    'status',
    'Show a run: a pipeline its step and live numbers; a generation run its progress, acceptance, rejections by reason, calls, tokens, cost',
    async (client, runId) => {
      if (await isPipeline(client, runId)) {
        const s = await new PipelineWatcher(client, runId).snapshot();
        console.log(renderSnapshot(s, new Rates(), Date.now()).join('\n'));
        return;
      }
      console.log(formatStatus(await generationStatus(client, runId)));
    },
  );
  runCommand('watch', 'Follow a run (pipeline or generation) with live progress until it ends', watch);
  runCommand('pause', 'Pause a run: in-flight dialogues finish, no new ones start', async (client, runId) => {
    await pauseGeneration(client, runId);
    console.log(`run ${runId}: pause requested`);
  });
  runCommand(
    'cancel',
    'Stop a run (generation: after its in-flight dialogues, `resume` continues it later)',
    async (client, runId) => {
      const d = await client.workflow.getHandle(runId).describe();
      if (d.status.name !== 'RUNNING') {
        // Idempotent: a run that already ended has nothing to stop (a user or a script may ask twice).
        const closed = d.status.name.toLowerCase().replace(/_/g, ' ');
        console.log(`run ${runId} is already ${closed}: nothing to cancel`);
        return;
      }
      if (d.type === 'pipelineWorkflow') {
        await client.workflow.getHandle(runId).cancel();
        console.log(`run ${runId}: cancel requested (running steps stop, trainers are stopped)`);
        return;
      }
      await cancelGeneration(client, runId);
      console.log(`run ${runId}: cancel requested (in-flight dialogues finish; resumable)`);
    },
  );
  program
    .command('resume <run>')
    .description('Resume a paused run, or restart a failed, cancelled or terminated one where it stopped')
    .option('--concurrency <n>', 'new number of dialogues in flight')
    .option('--rpm <n>', 'new LLM requests per minute per worker (restarted runs)')
    .option('--tpm <n>', 'new LLM tokens per minute per worker (restarted runs)')
    .option('--watch', 'follow the run afterwards')
    .action(async (runId: string, raw: Record<string, unknown>) => {
      const o = parseOptions(
        z.object({
          concurrency: z.coerce.number().int().positive().optional(),
          rpm: z.coerce.number().positive().optional(),
          tpm: z.coerce.number().positive().optional(),
          watch: z.boolean().default(false),
        }),
        raw,
      );
      await withClient(async (client) => {
        const how = await resumeGeneration(client, runId, o);
        const say = {
          signalled: 'resumed',
          restarted: 'restarted (goals already done are skipped)',
          completed: 'already completed: nothing to do',
        };
        console.log(`run ${runId}: ${say[how]}`);
        if (o.watch && how !== 'completed') await watch(client, runId);
      });
    });
}

async function checkLlm(config: GenerationConfig): Promise<void> {
  // Refuse to start (nothing spent) when the endpoint, key or model is wrong.
  const llm = createLlmClient(config.llm);
  try {
    await preflight(llm);
  } finally {
    await llm.close?.();
  }
}

/** Pipeline runs are followed and cancelled as a whole; the rest are generation runs. */
async function isPipeline(client: Client, runId: string): Promise<boolean> {
  return (await client.workflow.getHandle(runId).describe()).type === 'pipelineWorkflow';
}

async function watch(client: Client, runId: string): Promise<void> {
  if (await isPipeline(client, runId)) {
    await followPipeline(client, runId, {
      leaveHint: `\`npx dst-synth watch ${runId}\` follows it again.`,
    });
    return;
  }
  const view = progressView(`run ${runId}`);
  try {
    for (;;) {
      const s = await generationStatus(client, runId);
      const t = s.totals;
      if (t)
        view.update(
          t.done,
          Math.max(1, s.total ?? t.done),
          `${t.accepted} ok, ${t.rejected} rejected, ${s.status}`,
        );
      if (!s.progress) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    view.stop();
  }
  console.log(formatStatus(await generationStatus(client, runId)));
}

export function formatStatus(s: RunStatus): string {
  const t = s.totals;
  const lines = [`run ${s.runId}: ${s.status}`];
  if (t) {
    const rate = s.progress
      ? ((t.done - s.progress.doneAtStart) / Math.max(1, Date.now() - s.progress.startedAt)) * 60_000
      : undefined;
    lines.push(
      `  done ${t.done}${s.total ? `/${s.total}` : ''}: accepted ${t.accepted}, rejected ${t.rejected}` +
        (t.done ? ` (acceptance ${((100 * t.accepted) / t.done).toFixed(1)}%)` : ''),
    );
    const reasons = Object.entries(t.reasons);
    if (reasons.length)
      lines.push(`  rejected by reason: ${reasons.map(([r, n]) => `${r} ${n}`).join(', ')}`);
    lines.push(
      `  LLM calls ${t.calls}, tokens ${t.promptTokens} + ${t.completionTokens}, cost $${t.costUsd.toFixed(4)}`,
    );
    if (s.progress)
      lines.push(
        `  in flight ${s.progress.inFlight}, concurrency ${s.progress.concurrency}, ${rate?.toFixed(1)} dialogues/min`,
      );
  }
  if (s.error) lines.push(`  error: ${s.error}`);
  return lines.join('\n');
}
