import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Settings } from './settings';

/** What `dst-synth dev` publishes so other commands on this machine find its services. */
interface ServicesFile {
  pid: number;
  temporalAddress: string;
  /** Web UI base URL, when the dev server has one. */
  uiUrl?: string;
  /** Embedded Postgres port; the password stays in `postgres/password` (mode 600). */
  postgresPort?: number;
}

const file = (s: Settings) => path.join(s.DST_SYNTH_DATA_DIR, 'services.json');

export function publishServices(s: Settings, info: Omit<ServicesFile, 'pid'>): () => void {
  writeFileSync(file(s), JSON.stringify({ pid: process.pid, ...info }, null, 2), { mode: 0o600 });
  return () => rmSync(file(s), { force: true });
}

function running(s: Settings): ServicesFile | undefined {
  if (!existsSync(file(s))) return undefined;
  const info = JSON.parse(readFileSync(file(s), 'utf8')) as ServicesFile;
  try {
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

/** DATABASE_URL, else the embedded Postgres of a running `dst-synth dev`. */
export function resolveDatabaseUrl(s: Settings): string {
  if (s.DATABASE_URL) return s.DATABASE_URL;
  const info = running(s);
  if (info?.postgresPort) {
    const pw = readFileSync(path.join(s.DST_SYNTH_DATA_DIR, 'postgres', 'password'), 'utf8').trim();
    return `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:${info.postgresPort}/dst_synth`;
  }
  throw new Error('no database: set DATABASE_URL, or start `npx dst-synth dev` first');
}

/** TEMPORAL_ADDRESS, else the dev server of a running `dst-synth dev`, else 127.0.0.1:7233. */
export function resolveTemporalAddress(s: Settings): string {
  return s.TEMPORAL_ADDRESS ?? running(s)?.temporalAddress ?? '127.0.0.1:7233';
}

/** TEMPORAL_UI_URL, else the Web UI of a running `dst-synth dev`, else http://localhost:8233. */
export function resolveUiUrl(s: Settings): string {
  return process.env.TEMPORAL_UI_URL ?? running(s)?.uiUrl ?? 'http://localhost:8233';
}
