import path from 'node:path';
import { openDb, redactUrl, type DbHandle } from '../db/client';
import { runMigrations } from '../db/migrate';
import { isListening } from './ports';
import { startEmbeddedPostgres } from './postgres';
import type { Settings } from './settings';
import { startTemporalDevServer } from './temporal';

export interface Services {
  temporalAddress: string;
  /** Port of the embedded Postgres, when this process started one. */
  postgresPort?: number;
  uiUrl?: string;
  /** Contains the password when there is one: print `redactUrl(databaseUrl)` only. */
  databaseUrl: string;
  db: DbHandle;
  stop(): Promise<void>;
}

export interface StartServicesOptions {
  settings: Settings;
  /** Start the dev server without the Web UI. Default false. */
  headless?: boolean;
  /** Dev server gRPC port. Default 7233. */
  port?: number;
  /** Dev server Web UI port. Default 8233. */
  uiPort?: number;
  /** Called with one line per step, for the CLI to print. */
  say?: (line: string) => void;
}

/**
 * Starts what is not configured — the Temporal dev server (SQLite, UI on 8233) unless
 * TEMPORAL_ADDRESS is set, embedded PostgreSQL unless DATABASE_URL is set — and migrates.
 */
export async function startServices(opts: StartServicesOptions): Promise<Services> {
  const say = opts.say ?? (() => undefined);
  const { settings } = opts;
  const stops: (() => Promise<void>)[] = [];
  try {
    let temporalAddress = settings.TEMPORAL_ADDRESS;
    let uiUrl: string | undefined;
    if (!temporalAddress) {
      const port = opts.port ?? 7233;
      if (await isListening(port)) {
        throw new Error(
          `a Temporal server already listens on 127.0.0.1:${port} (is \`dst-synth dev\` running?); ` +
            `set TEMPORAL_ADDRESS=127.0.0.1:${port} to use it, or stop it`,
        );
      }
      const dir = path.join(settings.DST_SYNTH_DATA_DIR, 'temporal');
      const srv = await startTemporalDevServer({
        dataDir: dir,
        headless: opts.headless,
        port,
        uiPort: opts.uiPort,
      });
      stops.push(srv.stop);
      temporalAddress = srv.address;
      uiUrl = srv.uiUrl;
      say(`Temporal dev server on ${temporalAddress} (data: ${dir}/temporal.db)`);
      if (uiUrl) say(`Temporal Web UI: ${uiUrl}`);
    } else {
      say(`Temporal: ${temporalAddress}`);
    }
    let databaseUrl = settings.DATABASE_URL;
    let postgresPort: number | undefined;
    if (!databaseUrl) {
      const dir = path.join(settings.DST_SYNTH_DATA_DIR, 'postgres');
      const pg = await startEmbeddedPostgres({ dataDir: dir });
      stops.push(pg.stop);
      databaseUrl = pg.url;
      postgresPort = pg.port;
      say(`embedded PostgreSQL: ${redactUrl(databaseUrl)} (password in ${dir}/password)`);
    } else {
      say(`PostgreSQL: ${redactUrl(databaseUrl)}`);
    }
    const db = openDb(databaseUrl);
    stops.push(() => db.close());
    await runMigrations(db.pool);
    say('database migrations applied');
    return { temporalAddress, uiUrl, databaseUrl, postgresPort, db, stop: () => stopAll(stops) };
  } catch (e) {
    await stopAll(stops);
    throw e;
  }
}

async function stopAll(stops: (() => Promise<void>)[]): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
