import type { Command } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import path from 'node:path';
import { publishServices } from '../../infra/discovery';
import { startServices } from '../../infra/services';
import { loadSettings } from '../../infra/settings';
import { createWorkers } from '../../worker';
import { installCommandLogging } from '../logging';
import { STOP_SIGNALS, trapSignals } from '../signals';
import { parseOptions, ServiceOptions } from '../options';

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description(
      'Start embedded services (Temporal dev server + UI, PostgreSQL) when not configured, migrate, and run a worker until Ctrl-C',
    )
    .option('--verbose', 'worker and SDK logs on the console (default: data/logs/dev.log)')
    .option('--headless', 'no Temporal Web UI')
    .option('--port <n>', 'dev server gRPC port', '7233')
    .option('--ui-port <n>', 'Web UI port', '8233')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(ServiceOptions, raw);
      const settings = loadSettings();
      const logFile = installCommandLogging(settings.DST_SYNTH_DATA_DIR, 'dev', opts.verbose);
      if (logFile) console.log(`worker logs: ${logFile}`);
      // A signal while the services start stops them once up (they are in their own process groups).
      let early = false;
      const untrapEarly = trapSignals(STOP_SIGNALS, () => void (early = true));
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
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        console.log('\nstopping: draining workers, then services…');
        for (const w of workers) w.shutdown();
      };
      untrapEarly();
      const untrap = trapSignals(STOP_SIGNALS, stop);
      if (early) stop();
      console.log(
        `worker running on queues ${workers.map((w) => w.options.taskQueue).join(', ')} — Ctrl-C to stop`,
      );
      try {
        await Promise.all(workers.map((w) => w.run()));
      } finally {
        await connection.close();
        unpublish();
        await services.stop();
        untrap();
        console.log('stopped');
      }
    });
}
