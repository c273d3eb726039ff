import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { appendAudited, readAudited, writeAuditOutputs } from '../../audit/files';
import { runLabelAudit, scoreAudit, type AuditReport, type AuditSide } from '../../audit/label-audit';
import { loadSettings } from '../../infra/settings';
import { createLlmClient, parseLlmConfig } from '../../llm/config';
import { resolveLocalModel } from '../../llm/local-model';
import { createLocalLlamaClient } from '../../llm/local';
import type { LlmClient } from '../../llm/types';
import { preflight } from '../../llm/errors';
import { CONVENTION_NAMES, type Convention } from '../../metrics/conventions';
import { formatSlotErrors } from '../../metrics/slot-errors';
import { loadDataset } from '../../multiwoz/loaders';
import { loadOntology } from '../../multiwoz/ontology';
import { loadVenueDb } from '../../multiwoz/venues';
import { DEFAULT_LABELLER } from '../../simulator/label-turn';
import {
  BASELINE_LABELLER,
  labelDecodingSchema,
  labelPrompt,
  type LabellerOptions,
} from '../../simulator/prompts';
import { loadTurnRetriever, type TurnRetriever } from '../../simulator/retrieval';
import { parseOptions, providerOf } from '../options';
import { progressView } from '../progress';
import { inferSplit } from './import';

const AuditOptions = z.object({
  dialogues: z.string().min(1),
  split: z.enum(['train', 'dev', 'test']).optional(),
  /** First N dialogues of the source, in file order. Default: all. */
  limit: z.coerce.number().int().positive().optional(),
  convention: z.enum(CONVENTION_NAMES as [Convention, ...Convention[]]).default('trade'),
  provider: z.enum(['openai', 'local']).optional(),
  model: z.string().optional(),
  baseUrl: z.string().url().optional(),
  /** Slots shown to the labeller: the dialogue's domains (as generation) or all 30. Default dialogue. */
  slots: z.enum(['dialogue', 'all']).default('dialogue'),
  /** Retrieved training turns shown as worked examples (0: none). Default `DEFAULT_LABELLER`'s. */
  examples: z.coerce.number().int().min(0).max(20).default(DEFAULT_LABELLER.examples),
  /** Where the examples come from: a source with a training split. Default the offline 2.1 train split. */
  examplesFrom: z.string().optional(),
  /** The labeller writes the whole state, or the turn's update (merged by code). */
  answer: z.enum(['state', 'update']).default(DEFAULT_LABELLER.answer),
  /** `dontcare` listed among every categorical slot's values, or stated by one rule. */
  dontcare: z.enum(['listed', 'stated']).default(DEFAULT_LABELLER.dontcare),
  /** Local provider: CPU threads. Default: llama.cpp's math cores. */
  threads: z.coerce.number().int().positive().optional(),
  out: z.string().optional(),
  json: z.boolean().default(false),
});
type Opts = z.infer<typeof AuditOptions>;

/**
 * `dst-synth audit-labels`: the simulator's labeller scored on real annotated dialogues
 * (`audit/label-audit.ts`). Progress goes to stderr; the report (or one JSON line) to stdout.
 */
export function registerAuditLabels(program: Command): void {
  program
    .command('audit-labels')
    .description("Score the simulator's own state labeller (prompt, decoding, checks) on real dialogues")
    .requiredOption(
      '--dialogues <path>',
      'real annotated dialogues: a file or folder in any layout `eval --gold` reads',
    )
    .option('--split <split>', 'train | dev | test (default: from the file name, else everything)')
    .option('--limit <n>', 'only the first n dialogues')
    .option('--convention <name>', 'trade | sgd | luas', 'trade')
    .option('--provider <name>', 'openai | local (default: openai when OPENAI_API_KEY is set, else local)')
    .option('--model <name>', 'openai: model name; local: path of a .gguf file')
    .option('--base-url <url>', 'OpenAI-compatible endpoint (default: $OPENAI_BASE_URL, else OpenAI)')
    .option(
      '--slots <scope>',
      "dialogue (the dialogue's domains, as generation) | all (30 slots)",
      'dialogue',
    )
    .option(
      '--examples <k>',
      `training turns shown to the labeller as worked examples, BM25-retrieved (0: none)`,
      String(DEFAULT_LABELLER.examples),
    )
    .option(
      '--examples-from <path>',
      'training dialogues the examples come from (their train split only; default: the offline 2.1 train split)',
    )
    .option(
      '--answer <kind>',
      "update (the turn's change, merged by code) | state (the whole state)",
      DEFAULT_LABELLER.answer,
    )
    .option(
      '--dontcare <how>',
      "stated (one rule: only the slot the user waives) | listed (among every categorical slot's values)",
      DEFAULT_LABELLER.dontcare,
    )
    .option('--threads <n>', 'local provider: CPU threads (1 is fastest on a CPU shared with other work)')
    .option('--out <dir>', 'folder for predictions, gold copy and report; rerun with it to resume')
    .option('--json', 'print one JSON object {jga, turns, dialogues, raw, checked, …}')
    .action(async (raw: Record<string, unknown>) => {
      await runAudit(parseOptions(AuditOptions, raw));
    });
}

function llmFor(opts: Opts): LlmClient {
  const provider = providerOf(opts.provider);
  if (provider !== 'local' || !opts.threads)
    return createLlmClient({ provider, model: opts.model, baseURL: opts.baseUrl });
  // The LLM config has no thread count (it travels to workers with other CPUs); set it here.
  const c = parseLlmConfig({ provider, model: opts.model });
  return createLocalLlamaClient({
    modelPath: resolveLocalModel(c.model, process.env),
    temperature: c.temperature,
    maxTokens: c.maxTokens,
    contextSize: c.contextSize,
    threads: opts.threads,
  });
}

const labellerOf = (opts: Opts): LabellerOptions => ({
  examples: opts.examples,
  answer: opts.answer,
  dontcare: opts.dontcare,
});

/**
 * Identifies what the saved turns depend on: model, slot scope, labeller options, example
 * source and the labeller prompt itself.
 */
function configKey(model: string, opts: Opts): string {
  const labeller = labellerOf(opts);
  const slots = [{ slot: 'hotel-area', description: 'area', values: ['north'] }];
  const examples = labeller.examples ? [{ system: 's', user: 'u', update: { 'hotel-area': 'north' } }] : [];
  const prompt = labelPrompt(
    { history: [{ speaker: 'USER', text: 'x' }], previous: {}, slots, examples },
    labeller,
  );
  const schema = JSON.stringify(z.toJSONSchema(labelDecodingSchema(slots, labeller.answer)));
  const from = labeller.examples ? (opts.examplesFrom ?? 'default') : undefined;
  // The baseline labeller keeps the key audits had before the options existed (they resume).
  const baseline = isDeepStrictEqual(labeller, BASELINE_LABELLER);
  const keyed = baseline
    ? { model, slots: opts.slots, prompt, schema }
    : { model, slots: opts.slots, prompt, schema, labeller, from };
  return createHash('sha256').update(JSON.stringify(keyed)).digest('hex').slice(0, 16);
}

const slug = (s: string) =>
  path
    .basename(s)
    .replace(/\.(gguf|zip|json)$/g, '')
    .replace(/[^a-zA-Z0-9.-]+/g, '-');

async function runAudit(opts: Opts): Promise<void> {
  const source = path.resolve(opts.dialogues);
  const split = opts.split ?? inferSplit(source);
  const all = await loadDataset({ source, split });
  const dialogues = opts.limit ? all.slice(0, opts.limit) : all;
  if (!dialogues.length) throw new Error(`${source}: no dialogues to audit`);
  const labeller = labellerOf(opts);
  let retriever: TurnRetriever | undefined;
  if (labeller.examples > 0) {
    const started = Date.now();
    retriever = await loadTurnRetriever(opts.examplesFrom && path.resolve(opts.examplesFrom));
    console.error(
      `audit-labels: ${labeller.examples} examples per turn from ${retriever.size} training user turns (BM25, built in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  const llm = llmFor(opts);
  try {
    await preflight(llm);
    const key = configKey(llm.model, opts);
    const out =
      opts.out ??
      path.join(
        loadSettings().DST_SYNTH_DATA_DIR,
        'audits',
        `${slug(llm.model)}-${slug(source)}-${key.slice(0, 6)}`,
      );
    const done = readAudited(out, key);
    const turns = dialogues.reduce((n, d) => n + d.turns.filter((t) => t.speaker === 'USER').length, 0);
    console.error(
      `audit-labels: ${dialogues.length} dialogues, ${turns} user turns with ${llm.model}` +
        (done.size ? ` (${done.size} dialogues already done in ${out}, reused)` : '') +
        `; writing to ${out}`,
    );
    const view = progressView('audit');
    // The 1-minute load average through the run: the s/call it gives depends on it.
    const loads: number[] = [loadavg()[0] ?? 0];
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const audited = await runLabelAudit({
      llm,
      deps: { ontology: loadOntology(), db: loadVenueDb() },
      dialogues,
      convention: opts.convention,
      slotScope: opts.slots,
      labeller,
      retriever,
      done,
      onDialogue: (d) => appendAudited(out, key, d),
      onProgress: (p) => {
        loads.push(loadavg()[0] ?? 0);
        view.update(
          p.turnsDone,
          p.turnsTotal,
          `turns, dialogue ${p.dialoguesDone}/${p.dialoguesTotal}, JGA raw ${pct(p.runningJga.raw)} checked ${pct(p.runningJga.checked)}` +
            (p.secondsPerTurn
              ? `, ${p.secondsPerTurn.toFixed(1)} s/turn, ETA ${Math.ceil(p.etaSeconds / 60)} min`
              : ''),
        );
      },
    });
    view.stop();
    const load = {
      mean: Number((loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(2)),
      max: Number(Math.max(...loads).toFixed(2)),
    };
    const report = scoreAudit(opts.convention, dialogues, audited);
    const evalCommand = await writeAuditOutputs(out, dialogues, audited, report);
    const json = {
      ...report,
      model: llm.model,
      source,
      split: split ?? null,
      slots: opts.slots,
      labeller,
      load,
      out,
      evalCommand,
    };
    console.log(
      opts.json ? JSON.stringify(json) : formatAudit(report, llm.model, evalCommand, labeller, load),
    );
  } finally {
    await llm.close?.();
  }
}

function sideLine(name: string, s: AuditSide): string {
  const f = (x: number) => `${(100 * x).toFixed(2)}%`.padStart(8);
  return `  ${name.padEnd(14)}${f(s.score.jga)}${f(s.score.slotAccuracy)}${f(s.score.slotF1)}`;
}

export function formatAudit(
  r: AuditReport,
  model: string,
  evalCommand: string,
  labeller?: LabellerOptions,
  load?: { mean: number; max: number },
): string {
  const domains = Object.entries(r.checked.score.perDomain).map(
    ([d, s]) => `${d} ${(100 * s.jga).toFixed(1)}% (${s.turns})`,
  );
  const fixes = Object.entries(r.corrections)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ${n}`);
  return [
    `label audit of ${model}: ${r.dialogues} dialogues, ${r.turns} user turns, convention ${r.convention}` +
      (labeller
        ? `; labeller: ${labeller.examples} examples, ${labeller.answer} answers, dontcare ${labeller.dontcare}`
        : ''),
    `  ${''.padEnd(14)}     JGA slot acc  slot F1`,
    sideLine('raw labeller', r.raw),
    sideLine('after checks', r.checked),
    `  per-domain JGA after checks: ${domains.join(', ') || '–'}`,
    `  corrections by the checks (turn-level): ${fixes.join(', ') || 'none'}`,
    `  invalid labeller answers: ${r.invalidAnswers}`,
    `  most frequent errors per slot after checks (turn-level counts):`,
    ...formatSlotErrors(r.checked.slotErrors),
    `  most frequent errors per slot, raw labeller:`,
    ...formatSlotErrors(r.raw.slotErrors, 5),
    `  ${r.calls} labeller calls, ${r.secondsPerCall.toFixed(1)} s per call, tokens ${r.promptTokens} prompt` +
      (r.evaluatedPromptTokens !== undefined ? ` (${r.evaluatedPromptTokens} evaluated)` : '') +
      ` + ${r.completionTokens} completion` +
      (load ? `; 1-min load average ${load.mean} (max ${load.max})` : ''),
    `  rescore: ${evalCommand}`,
  ].join('\n');
}
