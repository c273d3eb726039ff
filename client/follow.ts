/**
 * Following a run on the console until it ends, with Ctrl-C asking whether to cancel the run
 * or leave it (the default: a durable run loses nothing by being left).
 */
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { LiveOutput } from './live-output';
import { Rates, renderFinishedGeneration, renderSnapshot, type PipelineSnapshot } from './pipeline-view';

export type Interruption = 'cancel' | 'leave';

export interface FollowDeps<R> {
  snapshot(): Promise<PipelineSnapshot>;
  /** Settles when the run ends (rejects when it fails or is cancelled). */
  result(): Promise<R>;
  /** Asks the server to cancel the run. */
  cancel(): Promise<void>;
  /** What to do on Ctrl-C. */
  ask(): Promise<Interruption>;
  output?: LiveOutput;
  /** Where SIGINT arrives. Default `process`. */
  signals?: Pick<EventEmitter, 'on' | 'off'>;
  pollMs?: number;
  now?: () => number;
}

export type FollowOutcome<R> =
  | { kind: 'ended'; result: R }
  | { kind: 'failed'; error: unknown }
  | { kind: 'left' }
  | { kind: 'cancelled'; error?: unknown };

/** Shows live progress until the run ends, or until Ctrl-C and the person's choice. */
export async function follow<R>(deps: FollowDeps<R>): Promise<FollowOutcome<R>> {
  const out = deps.output ?? new LiveOutput();
  const signals = deps.signals ?? process;
  const now = deps.now ?? Date.now;
  const rates = new Rates();
  let stopped = false;
  let asking = false;
  const ended = deps.result().then(
    (result): FollowOutcome<R> => ({ kind: 'ended', result }),
    (error: unknown): FollowOutcome<R> => ({ kind: 'failed', error }),
  );
  let interrupted!: (o: Interruption) => void;
  const choice = new Promise<Interruption>((r) => (interrupted = r));
  const onSigint = () => {
    if (asking) return; // the question handles its own Ctrl-C
    asking = true;
    stopped = true;
    out.done(); // the last numbers stay on screen above the question
    void deps.ask().then(interrupted, () => interrupted('leave'));
  };
  // The terminal closing or a kill: no one to ask; the run is left as it is.
  const onHangup = () => {
    stopped = true;
    interrupted('leave');
  };
  signals.on('SIGINT', onSigint);
  signals.on('SIGHUP', onHangup);
  signals.on('SIGTERM', onHangup);
  const poll = (async () => {
    while (!stopped) {
      const s = await deps.snapshot().catch(() => undefined);
      if (stopped) break;
      // The snapshot holds counts only: a change in it is progress, not the clock moving.
      const finished = s && renderFinishedGeneration(s, now());
      if (finished) out.show('generate', finished, undefined, { final: true });
      if (s) out.show(s.step, renderSnapshot(s, rates, now()), JSON.stringify(s));
      if (s && s.status !== 'running') break;
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 1000));
    }
  })();
  try {
    const first = await Promise.race([ended, choice]);
    stopped = true;
    await poll;
    if (first === 'leave') return { kind: 'left' };
    if (first === 'cancel') {
      out.say('cancelling the run (running steps stop; a trainer is stopped)…');
      await deps.cancel();
      const r = await ended;
      return r.kind === 'ended' ? r : { kind: 'cancelled', error: r.kind === 'failed' ? r.error : undefined };
    }
    return first;
  } finally {
    stopped = true;
    signals.off('SIGINT', onSigint);
    signals.off('SIGHUP', onHangup);
    signals.off('SIGTERM', onHangup);
    out.done();
  }
}

/**
 * Asks on the terminal whether to cancel the run; `leave` without a terminal, on an empty
 * answer, or on a second Ctrl-C.
 */
export function askCancelOrLeave(
  input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
): Promise<Interruption> {
  if (!input.isTTY) return Promise.resolve('leave');
  return new Promise((resolve) => {
    const rl = createInterface({ input, output });
    let answer: Interruption = 'leave';
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => resolve(answer));
    rl.question('\nCancel the run? [y/N] (N: leave it, resumable later) ', (a) => {
      answer = /^\s*y/i.test(a) ? 'cancel' : 'leave';
      rl.close();
    });
  });
}
