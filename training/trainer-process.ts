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
  /** Set when the trainer was stopped because it printed no event for `stallTimeoutMs`. */
  stalledMs?: number;
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

/**
 * What the trainer may see of the worker's environment: paths, locale, and the settings of
 * Python, Hugging Face, torch, CUDA, thread pools and launchers. Not the rest: a worker holds
 * secrets the trainer has no use for (OPENAI_API_KEY, DATABASE_URL with its password).
 */
const TRAINER_ENV =
  /^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_\w+|TZ|TMPDIR|TEMP|TMP|LD_LIBRARY_PATH|VIRTUAL_ENV|PYTHON\w*|HF_\w+|HUGGINGFACE_\w+|TRANSFORMERS_\w+|TOKENIZERS_PARALLELISM|TORCH\w*|PYTORCH_\w+|CUDA_\w+|NVIDIA_\w+|NCCL_\w+|OMP_\w+|MKL_\w+|OPENBLAS_\w+|ACCELERATE_\w+|XDG_CACHE_HOME|DST_TRAINER_\w+)$/;

export function trainerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => TRAINER_ENV.test(k)));
}

export interface RunTrainerOptions {
  onEvent?: (e: TrainerEvent) => void;
  /** Kills the trainer (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
  /** Passed on as given, on top of `trainerEnv()` (e.g. CUDA_VISIBLE_DEVICES). */
  env?: NodeJS.ProcessEnv;
  /** Stop the trainer when it prints no event for this long (a hung trainer), in ms. Default: never. */
  stallTimeoutMs?: number;
  /** Interpreter arguments before `-m dst_trainer` (torchrun: `training/devices.ts` `launcherArgs`). */
  launcher?: string[];
}

/** Starts the trainer; `onEvent` sees every JSON line. */
export function runTrainer(args: string[], opts: RunTrainerOptions = {}): Promise<TrainerRun> {
  const argv = [...(opts.launcher ?? []), '-m', 'dst_trainer', ...args];
  const child = spawn(trainerPython({ ...process.env, ...opts.env }), argv, {
    cwd: TRAINER_DIR,
    // The trainer exits when its stdin closes: if this worker is SIGKILLed, no orphan keeps
    // training into the folder a retried activity is about to use.
    env: {
      ...trainerEnv(),
      ...opts.env,
      PYTHONPATH: TRAINER_DIR,
      PYTHONUNBUFFERED: '1',
      DST_TRAINER_EXIT_WITH_PARENT: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: TrainerEvent[] = [];
  let stderr = '';
  let stalledMs: number | undefined;
  const kill = () => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  };
  let watchdog: NodeJS.Timeout | undefined;
  const rearm = () => {
    if (opts.stallTimeoutMs === undefined) return;
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      stalledMs = opts.stallTimeoutMs;
      kill();
    }, opts.stallTimeoutMs);
  };
  rearm();
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    try {
      const e = JSON.parse(line) as TrainerEvent;
      events.push(e);
      if (stalledMs === undefined) rearm();
      opts.onEvent?.(e);
    } catch {
      // not an event line (library output): ignore
    }
  });
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  opts.signal?.addEventListener('abort', kill, { once: true });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => {
      clearTimeout(watchdog);
      opts.signal?.removeEventListener('abort', kill);
      const stderrTail = stderr.split('\n').slice(-15).join('\n');
      resolve({ code, signal: sig, events, stderrTail, ...(stalledMs !== undefined ? { stalledMs } : {}) });
    });
  });
}
