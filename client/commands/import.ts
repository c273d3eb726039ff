import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { z } from 'zod';
import type { ImportInput, ImportProgress } from '../../activities/import-types';
import { isUrl } from '../../activities/source';
import { loadSettings } from '../../infra/settings';
import { importDatasetWorkflow, importProgressQuery } from '../../workflows/import';
import { WORKFLOW_TASK_QUEUE } from '../../workflows/task-queues';
import { parseOptions } from '../options';
import { progressView } from '../progress';
import { connectClient, workflowUiUrl } from '../temporal';

const ImportOptions = z.object({
  dataset: z.enum(['multiwoz21', 'multiwoz22', 'multiwoz24']),
  source: z.string().min(1),
  split: z.enum(['train', 'dev', 'test']).optional(),
  batchSize: z.coerce.number().int().positive().max(5000).default(200),
  wait: z.boolean().default(true),
});

/** Split named by a file such as `test.json.zip`, `valListFile`, `dev-10pct.icdst.json`. */
export function inferSplit(source: string): ImportInput['split'] | undefined {
  const base = path.basename(source).toLowerCase();
  if (/test/.test(base)) return 'test';
  if (/(^|[^a-z])(val|dev)/.test(base)) return 'dev';
  if (/train/.test(base)) return 'train';
  return undefined;
}

/** Workflow id: the same dataset, split and source always map to the same import run. */
export function importWorkflowId(input: ImportInput): string {
  const src = isUrl(input.source) ? input.source : path.resolve(input.source);
  const h = createHash('sha256').update(src).digest('hex').slice(0, 8);
  return `import-${input.dataset}-${input.split}-${h}`;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('Load one split of MultiWOZ into Postgres (a Temporal workflow; idempotent)')
    .requiredOption('--dataset <name>', 'multiwoz21 | multiwoz22 | multiwoz24')
    .requiredOption('--source <dir|file|url>', 'local folder or file, or URL of an official release')
    .option('--split <split>', 'train | dev | test (default: from the file name)')
    .option('--batch-size <n>', 'dialogues per activity', '200')
    .option('--no-wait', 'start the workflow and return its id')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(ImportOptions, raw);
      const split = opts.split ?? inferSplit(opts.source);
      if (!split) throw new Error(`cannot tell the split from "${opts.source}"; pass --split`);
      const source = isUrl(opts.source) ? opts.source : path.resolve(opts.source);
      const input: ImportInput = { dataset: opts.dataset, source, split, batchSize: opts.batchSize };
      const result = await runImport(input, opts.wait);
      if (result) console.log(formatImport(result));
    });
}

/** Starts (or re-attaches to) the import workflow and, with `wait`, follows it to the end. */
export async function runImport(input: ImportInput, wait: boolean): Promise<ImportProgress | undefined> {
  const settings = loadSettings();
  const { client, close } = await connectClient(settings);
  try {
    const workflowId = importWorkflowId(input);
    const handle = await client.workflow.start(importDatasetWorkflow, {
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId,
      args: [input],
      // A finished import may run again (it inserts nothing new); a running one is joined.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    console.error(`import ${workflowId} started — ${workflowUiUrl(settings, workflowId)}`);
    if (!wait) return undefined;
    const view = progressView(`import ${input.dataset}/${input.split}`);
    const timer = setInterval(() => {
      handle
        .query(importProgressQuery)
        .then((p) => view.update(p.done, Math.max(p.total, 1), p.phase))
        .catch(() => undefined);
    }, 500);
    try {
      return await handle.result();
    } finally {
      clearInterval(timer);
      view.stop();
    }
  } finally {
    await close();
  }
}

export function formatImport(p: ImportProgress): string {
  return `imported ${p.total} dialogues: ${p.inserted} new, ${p.skipped} already present (version ${p.datasetVersion})`;
}
