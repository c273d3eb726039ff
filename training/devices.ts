/**
 * One training per GPU (issue 10 §3). A gpu worker owns a pool of devices — `--gpus <n>`, or
 * detected: the ids in `CUDA_VISIBLE_DEVICES`, else the GPUs `nvidia-smi -L` lists, else one
 * CPU "device". Each trainer process (fine-tune or prediction) leases the devices it needs
 * for its whole life and sees only those (`CUDA_VISIBLE_DEVICES`); a training that asks for
 * several (torchrun) waits until that many are free. Leases are served first come, first
 * served, so a multi-device request is not starved by later single-device ones.
 *
 * Two layers keep trainings apart, both on the worker: the gpu queue's
 * `maxConcurrentActivityTaskExecutions` equals the device count (so a worker never takes
 * more trainer activities than it has devices: the rest stay in Temporal's queue, where any
 * other gpu worker may take them), and this pool (which assigns the device ids, and holds
 * back a multi-device training until enough are free).
 */
import { execFileSync } from 'node:child_process';

export interface DeviceLease {
  /** Device ids (`CUDA_VISIBLE_DEVICES` values), or `['cpu']`. */
  ids: string[];
  /** The environment the trainer child gets: `CUDA_VISIBLE_DEVICES` (empty on CPU). */
  env: Record<string, string>;
  release(): void;
}

export interface DevicePool {
  /** `gpu` ids, or one `cpu` device. */
  readonly kind: 'gpu' | 'cpu';
  readonly size: number;
  /** Every device id of the pool. */
  readonly ids: readonly string[];
  /** Leases `n` devices, waiting (FIFO) until they are free; `signal` gives up waiting. */
  acquire(n: number, signal?: AbortSignal): Promise<DeviceLease>;
  /** Devices free now. */
  free(): number;
}

export class DeviceRequestError extends Error {}

/** A pool over the given ids; no ids: one CPU device. */
export function createDevicePool(ids: readonly string[]): DevicePool {
  const kind = ids.length ? 'gpu' : 'cpu';
  const all = ids.length ? [...ids] : ['cpu'];
  const free = new Set(all);
  const waiting: Array<{ n: number; grant: (ids: string[]) => void }> = [];

  const take = (n: number) => {
    const got = all.filter((id) => free.has(id)).slice(0, n);
    got.forEach((id) => free.delete(id));
    return got;
  };
  const lease = (got: string[]): DeviceLease => {
    let released = false;
    return {
      ids: got,
      env: { CUDA_VISIBLE_DEVICES: kind === 'gpu' ? got.join(',') : '' },
      release() {
        if (released) return;
        released = true;
        got.forEach((id) => free.add(id));
        // Serve waiters in order; stop at the first that does not fit (no overtaking).
        while (waiting[0] && waiting[0].n <= free.size) {
          const w = waiting.shift()!;
          w.grant(take(w.n));
        }
      },
    };
  };

  return {
    kind,
    size: all.length,
    ids: all,
    free: () => free.size,
    acquire(n, signal) {
      if (n > all.length)
        return Promise.reject(
          new DeviceRequestError(
            `a training asks for ${n} devices but this worker has ${all.length} (${kind}): start the gpu worker with --gpus ${n} or lower training.devices`,
          ),
        );
      if (!waiting.length && free.size >= n) return Promise.resolve(lease(take(n)));
      return new Promise((resolve, reject) => {
        const w = { n, grant: (got: string[]) => resolve(lease(got)) };
        waiting.push(w);
        signal?.addEventListener(
          'abort',
          () => {
            const i = waiting.indexOf(w);
            if (i < 0) return;
            waiting.splice(i, 1);
            reject(signal.reason instanceof Error ? signal.reason : new Error('device wait cancelled'));
          },
          { once: true },
        );
      });
    },
  };
}

/**
 * The devices this machine offers: `gpus` when given (ids 0…n-1, or the first n of
 * `CUDA_VISIBLE_DEVICES`), else `CUDA_VISIBLE_DEVICES`, else `nvidia-smi -L`; none: CPU.
 */
export function detectDevices(gpus?: number, env: NodeJS.ProcessEnv = process.env): string[] {
  const visible = env.CUDA_VISIBLE_DEVICES?.split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== '-1');
  if (gpus !== undefined) {
    if (gpus === 0) return [];
    const base = visible?.length ? visible : Array.from({ length: gpus }, (_, i) => String(i));
    return Array.from({ length: gpus }, (_, i) => base[i] ?? String(i));
  }
  if (visible !== undefined) return visible;
  try {
    const out = execFileSync('nvidia-smi', ['-L'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return out
      .split('\n')
      .filter((l) => /^GPU \d+:/.test(l))
      .map((l) => /^GPU (\d+):/.exec(l)![1]!);
  } catch {
    return [];
  }
}

/** The interpreter arguments that launch the trainer on `n` devices (torchrun when n > 1). */
export function launcherArgs(n: number): string[] {
  return n > 1 ? ['-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', String(n)] : [];
}

/**
 * Runs `fn` on `n` leased devices of `pool` (released afterwards, whatever happens). While it
 * waits for them it calls `beat` every `beatMs` (waiting for a device is not a stalled
 * trainer); `signal` stops the wait.
 */
export async function onDevices<T>(
  pool: DevicePool,
  n: number,
  opts: { beat?: () => void; beatMs?: number; signal?: AbortSignal },
  fn: (lease: DeviceLease) => Promise<T>,
): Promise<T> {
  const timer = opts.beat ? setInterval(opts.beat, opts.beatMs ?? 5_000) : undefined;
  let lease: DeviceLease;
  try {
    lease = await pool.acquire(n, opts.signal);
  } finally {
    clearInterval(timer);
  }
  try {
    return await fn(lease);
  } finally {
    lease.release();
  }
}
