import path from 'node:path';
import type { Command } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { z } from 'zod';
import type { PipelineConfig } from '../../pipeline/config';
import { publishServices } from '../../infra/discovery';
import { startServices } from '../../infra/services';
import { loadSettings } from '../../infra/settings';
import { createLlmClient } from '../../llm/config';
import { preflight } from '../../llm/errors';
import { createWorkers } from '../../worker';
import { parseOptions, ServiceOptions } from '../options';
import { auditPlanLine, loadPipelineConfig, startPipeline } from '../pipeline';
import { connectClient } from '../temporal';
import { parseGenerationConfig } from '../generation';
import { formatPlan } from './generate';
import { followPipeline } from '../follow-pipeline';
import { installCommandLogging } from '../logging';
import { trapSignals } from '../signals';

const REPO = path.resolve(__dirname, '../..');

const DemoOptions = ServiceOptions.extend({
  keepRunning: z.boolean().default(false),
  config: z.string().default(path.join(REPO, 'examples/tiny-cpu.json')),
  provider: z.enum(['openai', 'local']).optional(),
  model: z.string().optional(),
  baseUrl: z.string().url().optional(),
});
type Opts = z.infer<typeof DemoOptions>;

/** The config's LLM, unless flags say otherwise; with OPENAI_API_KEY and --model, the endpoint. */
function withLlm(config: PipelineConfig, o: Opts): PipelineConfig {
  const provider =
    o.provider ?? (o.model && process.env.OPENAI_API_KEY ? 'openai' : config.generation.llm.provider);
  const llm = {
    ...config.generation.llm,
    provider,
    ...(o.model ? { model: o.model } : {}),
    ...(o.baseUrl ? { baseURL: o.baseUrl } : {}),
  };
  if (provider === 'local' && !o.model) delete llm.model;
  return { ...config, generation: { ...config.generation, llm } };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'The main job on embedded defaults: start Temporal + Postgres + a worker, run the whole pipeline (tiny CPU config), write the report',
    )
    .option('--config <file>', 'pipeline config', 'examples/tiny-cpu.json')
    .option(
      '--provider <name>',
      "openai | local (default: the config's; openai when --model and OPENAI_API_KEY are given)",
    )
    .option(
      '--model <name>',
      'LLM model name (openai); local: a catalogued name (qwen2.5-coder-1.5b-instruct, the default; smollm2-135m-instruct) or a .gguf path',
    )
    .option('--base-url <url>', 'OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)')
    .option('--keep-running', 'keep services and worker up afterwards (browse the Web UI), until Ctrl-C')
    .option('--verbose', 'worker and SDK logs on the console (default: data/logs/demo.log)')
    .option('--headless', 'no Temporal Web UI')
    .option('--port <n>', 'dev server gRPC port', '7233')
    .option('--ui-port <n>', 'Web UI port', '8233')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(DemoOptions, raw);
      const config = withLlm(loadPipelineConfig(path.resolve(opts.config)), opts);
      console.log(formatPlan(parseGenerationConfig(config.generation)));
      console.log(
        `  then: train baseline and stage 1 → stage 2 (${config.training.tiny ? 'tiny CPU model' : config.training.init}), evaluate (${config.conventions.join(', ')}), report`,
      );
      const audit = auditPlanLine(config);
      if (audit) console.log(audit);
      const llm = createLlmClient(config.generation.llm);
      try {
        await preflight(llm); // a wrong key or model stops here, before anything starts
      } finally {
        await llm.close?.();
      }
      const settings = loadSettings();
      const logFile = installCommandLogging(settings.DST_SYNTH_DATA_DIR, 'demo', opts.verbose);
      if (logFile) console.log(`worker logs: ${logFile}`);
      // From here on a signal stops the worker and the services (never kills the CLI first).
      let stopRequested = false;
      let stopWorkers = () => undefined as void;
      const onStop = (signal: NodeJS.Signals) => {
        if (!stopRequested) console.log(`\n${signal}: stopping…`);
        stopRequested = true;
        stopWorkers();
      };
      const untrapOthers = trapSignals(['SIGHUP', 'SIGTERM'], onStop);
      let untrapInt = trapSignals(['SIGINT'], onStop);
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
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        console.log('stopping the worker and services…');
        workers.forEach((w) => w.shutdown());
      };
      stopWorkers = stop;
      let left = false;
      try {
        if (stopRequested) return;
        const { client, close } = await connectClient(settings);
        try {
          const runId = `${config.name}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
          const handle = await startPipeline(
            client,
            runId,
            config,
            path.join(settings.DST_SYNTH_DATA_DIR, 'runs', runId),
          );
          untrapInt(); // while following, Ctrl-C asks: cancel the run or leave it
          console.log(
            `pipeline ${runId} started${services.uiUrl ? ` — ${services.uiUrl}/namespaces/${settings.TEMPORAL_NAMESPACE}/workflows/${runId}` : ''}`,
          );
          const end = await followPipeline(client, handle.workflowId, {
            leaveHint: `Its state is saved under ${settings.DST_SYNTH_DATA_DIR}: \`npx dst-synth dev\` continues it (services and a worker), \`npx dst-synth watch ${runId}\` follows it.`,
          });
          left = end === 'left';
        } finally {
          untrapInt = trapSignals(['SIGINT'], onStop);
          await close();
        }
        if (opts.keepRunning && !left && !stopRequested) {
          console.log(`services stay up; Web UI ${services.uiUrl ?? '(headless)'} — Ctrl-C to stop`);
          await running;
        }
      } finally {
        stop();
        await running;
        await connection.close();
        unpublish();
        await services.stop();
        untrapInt();
        untrapOthers();
      }
    });
}
