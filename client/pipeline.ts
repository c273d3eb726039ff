/** Loading a pipeline config file and starting the pipeline. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { PipelineConfigSchema, type PipelineConfig } from '../pipeline/config';
import { multiwozDir } from '../multiwoz/paths';
import { pipelineWorkflow } from '../workflows/pipeline';
import { WORKFLOW_TASK_QUEUE } from '../workflows/task-queues';

/** Reads and validates a config; `multiwoz:` sources become paths in the offline data folder. */
/** The plan's line for the optional label audit; undefined without one. */
export function auditPlanLine(config: PipelineConfig): string | undefined {
  const a = config.audit;
  if (!a) return undefined;
  const data = `${a.dataset ?? config.data.test.dataset}/${a.split ?? config.data.test.split}`;
  return `  and: audit the labeller on the first ${a.limit} ${data} dialogues, beside generation (label accuracy in the report)`;
}

export function loadPipelineConfig(file: string): PipelineConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const r = PipelineConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(
      `${file}: invalid config:\n${r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  }
  const base = path.dirname(path.resolve(file));
  const resolve = (s: string) =>
    s.startsWith('multiwoz:')
      ? path.join(multiwozDir(), s.slice(9))
      : /^https?:/.test(s)
        ? s
        : path.resolve(base, s);
  // A local base model (`./…`, `../…` or a `.gguf` file) is relative to the config file, like
  // the sources; a hub name (`org/model`) is left alone. The trainer runs in trainer/.
  const init = r.data.training.init;
  const localInit = init && (/^\.\.?\//.test(init) || init.toLowerCase().endsWith('.gguf'));
  return {
    ...r.data,
    import: r.data.import.map((i) => ({ ...i, source: resolve(i.source) })),
    ...(localInit ? { training: { ...r.data.training, init: path.resolve(base, init) } } : {}),
  };
}

export async function startPipeline(client: Client, runId: string, config: PipelineConfig, workDir: string) {
  return client.workflow.start(pipelineWorkflow, {
    taskQueue: WORKFLOW_TASK_QUEUE,
    workflowId: runId,
    args: [{ runId, config, workDir }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    memo: { name: config.name },
  });
}
