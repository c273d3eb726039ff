/**
 * Runs the Python trainer (`trainer/`, `python -m dst_trainer …`) as a child process and
 * turns its JSON-lines stdout into events. Exit codes: 0 ok, 2 bad config or data, 3 out of
 * memory (both final), anything else may be retried.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

const REPO = path.resolve(__dirname, '..');
export const TRAINER_DIR = path.join(REPO, 'trainer');

/** The project virtualenv's python (set-up script), or `DST_SYNTH_PYTHON`. */
export function trainerPython(env: NodeJS.ProcessEnv = process.env): string {
  const p = env.DST_SYNTH_PYTHON ?? path.join(REPO, '.venv/bin/python');
  if (!existsSync(p))
    throw new Error(`python not found at ${p}: run \`make setup\` (or set DST_SYNTH_PYTHON)`);
  return p;
}

export interface TrainerEvent {
  event: 'progress' | 'checkpoint' | 'done' | 'error' | string;
  step?: number;
  total_steps?: number;
  loss?: number;
  learning_rate?: number;
  tokens_per_second?: number;
  eta_seconds?: number;
  epoch?: number;
  path?: string;
  output?: string;
  train_loss?: number;
  kind?: string;
  message?: string;
  [k: string]: unknown;
}

export interface TrainerRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: TrainerEvent[];
  /** The last lines of stderr (for messages when no error event was printed). */
  stderrTail: string;
}

/** `{lr: 2e-5, lora: true}` → `--lr 2e-05 --lora`. */
export function trainerFlags(hyper: Record<string, string | number | boolean>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(hyper)) {
    const flag = `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
    if (v === true) out.push(flag);
    else if (v !== false) out.push(flag, String(v));
  }
  return out;
}

/** Starts the trainer; `onEvent` sees every JSON line; `signal` kills it (SIGTERM, then SIGKILL). */
export function runTrainer(
  args: string[],
  opts: { onEvent?: (e: TrainerEvent) => void; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<TrainerRun> {
  const child = spawn(trainerPython(opts.env), ['-m', 'dst_trainer', ...args], {
    cwd: TRAINER_DIR,
    // The trainer exits when its stdin closes: if this worker is SIGKILLed, no orphan keeps
    // training into the folder a retried activity is about to use.
    env: {
      ...process.env,
      ...opts.env,
      PYTHONPATH: TRAINER_DIR,
      PYTHONUNBUFFERED: '1',
      DST_TRAINER_EXIT_WITH_PARENT: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: TrainerEvent[] = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    try {
      const e = JSON.parse(line) as TrainerEvent;
      events.push(e);
      opts.onEvent?.(e);
    } catch {
      // not an event line (library output): ignore
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const kill = () => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  };
  opts.signal?.addEventListener('abort', kill, { once: true });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', kill);
      resolve({ code, signal: sig, events, stderrTail: stderr.split('\n').slice(-15).join('\n') });
    });
  });
}
