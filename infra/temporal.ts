import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { searchAttributeFlags } from '../workflows/search-attributes';
import { temporalCliPath } from './temporal-bin';
import { waitForPort } from './ports';
import { stopChild, stopOnExit } from './process';

export interface DevServerOptions {
  /** Folder for the SQLite file (`temporal.db`) and the server log. Reused across runs. */
  dataDir: string;
  /** Frontend gRPC port. Default 7233. */
  port?: number;
  /** Web UI port. Default 8233. */
  uiPort?: number;
  /** Run without the Web UI. Default false. */
  headless?: boolean;
  /** How long to wait for the server to listen, in ms. Default 60 000. */
  startTimeoutMs?: number;
  /** Register dst-synth's search attributes by start flags. Default true (false: as a bare cluster). */
  searchAttributes?: boolean;
}

export interface RunningDevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` with SQLite persistence, so a restart keeps every
 * workflow, and with dst-synth's search attributes registered.
 */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<RunningDevServer> {
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  mkdirSync(opts.dataDir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    path.join(opts.dataDir, 'temporal.db'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'warn',
    ...(opts.searchAttributes === false ? [] : searchAttributeFlags()).flatMap((f) => [
      '--search-attribute',
      f,
    ]),
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(uiPort), '--ui-disable-news-fetch']),
  ];
  const log = openSync(path.join(opts.dataDir, 'temporal.log'), 'a');
  // Its own process group: Ctrl-C at the terminal goes to the CLI, which decides and stops it.
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', log, log], detached: true });
  stopOnExit(child);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`temporal dev server exited with code ${code}; see ${opts.dataDir}/temporal.log`)),
    ),
  );
  exited.catch(() => undefined);
  await Promise.race([waitForPort(port, opts.startTimeoutMs ?? 60_000), exited]);
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: opts.headless ? undefined : `http://localhost:${uiPort}`,
    process: child,
    stop: () => stopChild(child),
  };
}
