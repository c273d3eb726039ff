import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '../..');

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves when the combined output matches, rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Runs `dst-synth <args>` as a real child process (the same entry point as `npx dst-synth`). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = spawn(process.execPath, [path.join(REPO, 'bin/dst-synth.js'), ...args], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (c: Buffer) => {
    out += c.toString();
    listeners.forEach((l) => l());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`));
        }, timeoutMs);
        void exited.then((code) => {
          if (!pattern.test(out)) reject(new Error(`exited (${code}) before ${pattern}; output:\n${out}`));
        });
        listeners.add(check);
        check();
      });
    },
  };
}

/** The environment without any configured service, so commands start embedded ones. */
export function embeddedEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DST_SYNTH_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  return env;
}

/** The last line of a CLI's output that is a JSON object (`--json` prints it last), parsed. */
export function lastJsonLine<T>(text: string): T {
  const line = text
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (line === undefined) throw new Error(`no JSON line in the output:\n${text}`);
  return JSON.parse(line) as T;
}
