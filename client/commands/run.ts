import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { writeReportFiles } from '../../activities/report';
import { openDb } from '../../db/client';
import { resolveDatabaseUrl } from '../../infra/discovery';
import { loadSettings } from '../../infra/settings';
import { createLlmClient } from '../../llm/config';
import { preflight } from '../../llm/errors';
import { followPipeline } from '../follow-pipeline';
import { parseGenerationConfig } from '../generation';
import { formatMatrix, matrixJson } from '../matrix-view';
import { checkConfigFiles } from '../config-files';
import { auditPlanLine, loadPipelineConfig, startPipeline } from '../pipeline';
import { planMatrix } from '../../training/matrix';
import { parseOptions } from '../options';
import { connectClient, workflowUiUrl } from '../temporal';
import { formatPlan } from './generate';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'Start the whole pipeline (import → generate → assemble → train and evaluate the experiment matrix → report)',
    )
    .requiredOption(
      '--config <file>',
      'pipeline config (see examples/tiny-cpu.json, examples/llama2-7b.json)',
    )
    .option('--run-id <id>', 'run id (default: <name>-<time>)')
    .option('--no-wait', 'start and return the run id')
    .option('--dry-run', 'print the experiment matrix (sets, sizes, models, order) and start nothing')
    .option('--json', 'with --dry-run: the matrix as one JSON object')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(
        z.object({
          config: z.string(),
          runId: z.string().optional(),
          wait: z.boolean().default(true),
          dryRun: z.boolean().default(false),
          json: z.boolean().default(false),
        }),
        raw,
      );
      const config = loadPipelineConfig(opts.config);
      // Before the dry run's matrix too: a missing or corrupt base model fails here, not at the
      // first training step minutes into a run.
      checkConfigFiles(config);
      if (opts.dryRun || opts.json) {
        console.log(opts.json ? JSON.stringify(matrixJson(config)) : formatMatrix(config));
        return;
      }
      const settings = loadSettings();
      const runId =
        opts.runId ?? `${config.name}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
      console.log(
        formatPlan(
          parseGenerationConfig({ ...config.generation, seed: config.generation.seed ?? config.seed }),
        ),
      );
      console.log(
        `  then: train ${planMatrix(config).trainings.length} models of the experiment matrix (${config.training.tiny ? 'tiny CPU model' : config.training.init}; see --dry-run), evaluate (${config.conventions.join(', ')}), report`,
      );
      const audit = auditPlanLine(config);
      if (audit) console.log(audit);
      const llm = createLlmClient(config.generation.llm);
      try {
        await preflight(llm);
      } finally {
        await llm.close?.();
      }
      const { client, close } = await connectClient(settings);
      try {
        const workDir = path.join(settings.DST_SYNTH_DATA_DIR, 'runs', runId);
        const handle = await startPipeline(client, runId, config, workDir);
        console.log(`run ${runId} started — ${workflowUiUrl(settings, runId)}`);
        if (!opts.wait) return;
        await followPipeline(client, handle.workflowId, {
          leaveHint: `It keeps running on the workers: \`npx dst-synth watch ${runId}\` follows it, \`npx dst-synth cancel ${runId}\` stops it.`,
        });
      } finally {
        await close();
      }
    });

  program
    .command('report <run>')
    .description('Write the run report: a self-contained HTML page and Markdown tables')
    .option('--out <dir>', 'folder (default: data/runs/<run>/report)')
    .action(async (runId: string, raw: Record<string, unknown>) => {
      const settings = loadSettings();
      const out =
        typeof raw.out === 'string'
          ? raw.out
          : path.join(settings.DST_SYNTH_DATA_DIR, 'runs', runId, 'report');
      const db = openDb(resolveDatabaseUrl(settings));
      try {
        const files = await writeReportFiles(db.db, runId, path.resolve(out));
        console.log(`report: ${files.html}\n        ${files.markdown}`);
      } finally {
        await db.close();
      }
    });
}
