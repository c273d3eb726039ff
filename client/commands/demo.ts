import path from 'node:path';
import type { Command } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { z } from 'zod';
import type { EvaluateInput, EvaluationSummary } from '../../activities/evaluate-types';
import type { ImportInput } from '../../activities/import-types';
import { publishServices } from '../../infra/discovery';
import { startServices } from '../../infra/services';
import { loadSettings } from '../../infra/settings';
import { multiwozDir } from '../../multiwoz/paths';
import { createWorkers } from '../../worker';
import { evaluateWorkflow } from '../../workflows/evaluate';
import { WORKFLOW_TASK_QUEUE } from '../../workflows/task-queues';
import { parseOptions, ServiceOptions } from '../options';
import { connectClient } from '../temporal';
import { formatImport, runImport } from './import';

/** The offline splits the demo imports and scores. */
function demoImports(): ImportInput[] {
  const mw = multiwozDir();
  return [
    { dataset: 'multiwoz21', source: path.join(mw, '2.1/test.json.zip'), split: 'test' },
    { dataset: 'multiwoz21', source: path.join(mw, '2.1/val.json.zip'), split: 'dev' },
    { dataset: 'multiwoz24', source: path.join(mw, '2.4/dev-10pct.icdst.json'), split: 'dev' },
  ];
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'The main job on embedded defaults: start services, import the offline MultiWOZ splits, score reference predictors',
    )
    .option('--keep-running', 'keep services and worker up afterwards (browse the Web UI), until Ctrl-C')
    .option('--headless', 'no Temporal Web UI')
    .option('--port <n>', 'dev server gRPC port', '7233')
    .option('--ui-port <n>', 'Web UI port', '8233')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(ServiceOptions.extend({ keepRunning: z.boolean().default(false) }), raw);
      const settings = loadSettings();
      const services = await startServices({ settings, ...opts, say: (l) => console.log(l) });
      const unpublish = publishServices(settings, {
        temporalAddress: services.temporalAddress,
        uiUrl: services.uiUrl,
        postgresPort: services.postgresPort,
      });
      const connection = await NativeConnection.connect({ address: services.temporalAddress });
      const workers = await createWorkers({
        connection,
        namespace: settings.TEMPORAL_NAMESPACE,
        deps: { db: services.db.db, downloadDir: path.join(settings.DST_SYNTH_DATA_DIR, 'downloads') },
      });
      const running = Promise.all(workers.map((w) => w.run()));
      const stop = () => workers.forEach((w) => w.shutdown());
      process.once('SIGINT', stop);
      try {
        for (const input of demoImports()) {
          const result = await runImport(input, true);
          if (result) console.log(`${input.dataset}/${input.split}: ${formatImport(result)}`);
        }
        await scoreReferences();
        if (opts.keepRunning) {
          console.log(`services stay up; Web UI ${services.uiUrl ?? '(headless)'} — Ctrl-C to stop`);
          await running;
        }
      } finally {
        stop();
        await running;
        await connection.close();
        unpublish();
        await services.stop();
      }
    });
}

async function scoreReferences(): Promise<void> {
  const { client, close } = await connectClient(loadSettings());
  try {
    const rows: string[] = [];
    for (const { dataset, split } of [
      { dataset: 'multiwoz21', split: 'test' },
      { dataset: 'multiwoz24', split: 'dev' },
    ] as const) {
      for (const model of ['oracle', 'empty']) {
        const input: EvaluateInput = { model, dataset, split, conventions: ['trade', 'sgd', 'luas'] };
        const res = await client.workflow.execute(evaluateWorkflow, {
          taskQueue: WORKFLOW_TASK_QUEUE,
          workflowId: `demo-eval-${dataset}-${split}-${model}`,
          args: [input],
        });
        rows.push(...res.map((r) => row(`${dataset}/${split}`, model, r)));
      }
    }
    console.log(
      '\n' + ['data            model   convention  JGA     slot acc  slot F1  turns', ...rows].join('\n'),
    );
  } finally {
    await close();
  }
}

function row(data: string, model: string, r: EvaluationSummary): string {
  const pct = (x: number) => (100 * x).toFixed(2).padStart(6);
  return `${data.padEnd(16)}${model.padEnd(8)}${r.convention.padEnd(12)}${pct(r.jga)}  ${pct(r.slotAccuracy)}    ${pct(r.slotF1)}  ${r.turns}`;
}
