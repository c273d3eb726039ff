/**
 * The console of `demo`/`run`/`watch`: progress lines per step, throttled output on a pipe,
 * in-place updates on a terminal, Ctrl-C (cancel or leave), and logs kept off the console.
 */
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { askCancelOrLeave, follow, type Interruption } from '../../client/follow';
import { LiveOutput } from '../../client/live-output';
import { formatLogLine } from '../../client/logging';
import { Rates, renderSnapshot, type PipelineSnapshot } from '../../client/pipeline-view';
import type { LiveProgress } from '../../client/generation';
import { REPO } from '../helpers/cli';

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

function generation(over: Partial<LiveProgress> = {}): LiveProgress {
  return {
    runId: 'p-generate',
    total: 40,
    done: 12,
    accepted: 9,
    rejected: 3,
    reasons: { too_short: 1, domain_cap_exceeded: 2 },
    calls: 350,
    promptTokens: 100_000,
    completionTokens: 20_000,
    costUsd: 0,
    batches: ['p-generate-batch-0'],
    inFlight: 2,
    paused: false,
    cancelling: false,
    concurrency: 2,
    startedAt: T0,
    doneAtStart: 0,
    status: 'running',
    ...over,
  };
}

const snap = (over: Partial<PipelineSnapshot>): PipelineSnapshot => ({
  runId: 'p',
  status: 'running',
  step: 'generate',
  imports: [],
  activities: [],
  ...over,
});

/** A stream that records what was written. */
function sink(isTTY = false, columns = 100) {
  const chunks: string[] = [];
  return { chunks, isTTY, columns, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

describe('progress lines', () => {
  test('generation: goals done/total, accepted, rejected by reason, in flight, calls, tokens, rate, ETA', () => {
    const [head, line] = renderSnapshot(
      snap({ generation: generation(), callsInFlight: 17 }),
      new Rates(),
      T0 + 4 * 60_000,
    );
    expect(head).toBe('[generate] p');
    expect(line).toBe(
      '  generate  12/40 goals · accepted 9 · rejected 3 (domain_cap_exceeded 2, too_short 1) · 2 in flight · 350 calls (+17 by running dialogues) · 120k tokens · 3.0 goals/min · ETA 9m',
    );
  });

  test('import: dialogues over all splits', () => {
    const imports = [
      { phase: 'importing' as const, total: 8438, done: 3000, inserted: 3000, skipped: 0 },
      { phase: 'done' as const, total: 1000, done: 1000, inserted: 1000, skipped: 0 },
    ];
    expect(renderSnapshot(snap({ step: 'import', imports }), new Rates(), T0)[1]).toBe(
      '  import    4,000/9,438 dialogues in 2 splits',
    );
  });

  test('training and prediction: step/total, loss, ETA from the rate seen; a retry says why', () => {
    const rates = new Rates();
    const at = (step: number, predicted: number) =>
      snap({
        step: 'train',
        activities: [
          { type: 'fineTune', name: 'stage1', step, total: 120, loss: 1.23456, attempt: 1 },
          { type: 'predictStates', name: 'baseline', step: predicted, total: 200, attempt: 1 },
          { type: 'fineTune', name: 'baseline', attempt: 2, lastFailure: 'trainer stalled' },
        ],
      });
    const first = renderSnapshot(at(20, 50), rates, T0);
    expect(first[1]).toBe('  train     stage1 · 20/120 steps · loss 1.235 · ETA ?');
    const later = renderSnapshot(at(40, 100), rates, T0 + 60_000);
    expect(later.slice(1)).toEqual([
      '  train     stage1 · 40/120 steps · loss 1.235 · ETA 4m',
      '  predict   baseline · 100/200 turns · ETA 2m',
      '  train     baseline · starting · attempt 2 after: trainer stalled',
    ]);
  });

  test('an ETA changes only when the counter does', () => {
    const rates = new Rates();
    expect(rates.eta('k', 10, 100, T0)).toBeUndefined();
    expect(rates.eta('k', 20, 100, T0 + 10_000)).toBe(80_000);
    expect(rates.eta('k', 20, 100, T0 + 60_000)).toBe(80_000);
    expect(rates.eta('k', 30, 100, T0 + 70_000)).toBe(70 * 3500);
  });

  test('no log objects: every line is plain text', () => {
    const lines = renderSnapshot(snap({ generation: generation() }), new Rates(), T0);
    for (const l of lines) expect(l).not.toMatch(/[{}]|taskToken/);
  });
});

describe('live output', () => {
  test('on a pipe: one line per change, at most one per interval; a new step at once', () => {
    let now = 0;
    const out = sink(false);
    const live = new LiveOutput({ stream: out, now: () => now, minIntervalMs: 5000 });
    live.show('generate', ['[generate] p', '  1/40']);
    now = 1000;
    live.show('generate', ['[generate] p', '  2/40']); // too soon
    now = 2000;
    live.show('generate', ['[generate] p', '  2/40']);
    now = 6000;
    live.show('generate', ['[generate] p', '  3/40']);
    live.show('generate', ['[generate] p', '  3/40']); // unchanged
    now = 6500;
    live.show('assemble', ['[assemble] p']); // new step: at once
    expect(out.chunks).toEqual(['[generate] p | 1/40\n', '[generate] p | 3/40\n', '[assemble] p\n']);
  });

  test('on a pipe: a line only when the counts change, not when only the clock-derived numbers do', () => {
    let now = 0;
    const out = sink(false);
    const live = new LiveOutput({ stream: out, now: () => now, minIntervalMs: 5000 });
    live.show('train', ['[train] p', '  2/63 · ETA 5m'], 'step 2');
    now = 6000;
    live.show('train', ['[train] p', '  2/63 · ETA 6m'], 'step 2');
    now = 12000;
    live.show('train', ['[train] p', '  3/63 · ETA 5m'], 'step 3');
    expect(out.chunks).toEqual(['[train] p | 2/63 · ETA 5m\n', '[train] p | 3/63 · ETA 5m\n']);
  });

  test('on a terminal: the block is redrawn in place, cut to the width; a new step keeps the old one', () => {
    const out = sink(true, 30);
    const live = new LiveOutput({ stream: out });
    live.show('generate', ['[generate] p', '  1/40']);
    live.show('generate', ['[generate] p', '  2/40 ' + 'x'.repeat(40)]);
    live.show('train', ['[train] p']);
    const up = '\x1b[1A\x1b[2K';
    expect(out.chunks).toEqual([
      '[generate] p\n  1/40\n',
      `${up}${up}[generate] p\n  2/40 ${'x'.repeat(21)}…\n`,
      '[train] p\n',
    ]);
  });
});

describe('a finished step', () => {
  test("generation's block ends with its final totals, not its last live numbers", async () => {
    const live = generation({ done: 38, accepted: 30, rejected: 8, inFlight: 2 });
    const final = generation({
      done: 40,
      accepted: 31,
      rejected: 9,
      inFlight: 0,
      batches: [],
      status: 'completed',
    });
    const snapshots = [
      snap({ generation: live }),
      snap({ step: 'assemble', finishedGeneration: final }),
      snap({ step: 'assemble', status: 'completed' }),
    ];
    for (const tty of [false, true]) {
      const out = sink(tty, 300);
      let i = 0;
      await follow({
        snapshot: () => Promise.resolve(snapshots[Math.min(i++, snapshots.length - 1)]!),
        result: () => new Promise((r) => setTimeout(() => r('done'), 100)),
        cancel: () => Promise.resolve(),
        ask: () => Promise.resolve('leave' as const),
        output: new LiveOutput({ stream: out, minIntervalMs: 60_000 }),
        signals: new EventEmitter(),
        pollMs: 1,
      });
      const lines = out.text().split('\n');
      const generateLines = lines.filter((l) => l.includes('goals'));
      expect(generateLines[0]).toContain('38/40 goals');
      expect(generateLines.at(-1)).toMatch(
        /40\/40 goals · accepted 31 · rejected 9 .*0 in flight.*completed/,
      );
      expect(out.text().indexOf('40/40 goals')).toBeLessThan(out.text().indexOf('[assemble]'));
    }
  });
});

describe('Ctrl-C while following', () => {
  function harness(answer: Interruption) {
    const signals = new EventEmitter();
    let settle!: { resolve: (v: string) => void; reject: (e: unknown) => void };
    const result = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
    const cancel = jest.fn(() => {
      settle.reject(new Error('workflow cancelled'));
      return Promise.resolve();
    });
    const ask = jest.fn(() => Promise.resolve(answer));
    const followed = follow({
      snapshot: () => Promise.resolve(snap({})),
      result: () => result,
      cancel,
      ask,
      output: new LiveOutput({ stream: sink(false) }),
      signals,
      pollMs: 10,
    });
    return { signals, settle, cancel, ask, followed };
  }

  test('leave (the default): the run is not cancelled, following stops', async () => {
    const h = harness('leave');
    await new Promise((r) => setTimeout(r, 30));
    h.signals.emit('SIGINT');
    await expect(h.followed).resolves.toEqual({ kind: 'left' });
    expect(h.ask).toHaveBeenCalledTimes(1);
    expect(h.cancel).not.toHaveBeenCalled();
    expect(h.signals.listenerCount('SIGINT')).toBe(0);
  });

  test('cancel: the run is cancelled and followed to its end', async () => {
    const h = harness('cancel');
    h.signals.emit('SIGINT');
    h.signals.emit('SIGINT'); // a second Ctrl-C while asking asks nothing more
    const outcome = await h.followed;
    expect(outcome.kind).toBe('cancelled');
    expect(h.cancel).toHaveBeenCalledTimes(1);
    expect(h.ask).toHaveBeenCalledTimes(1);
  });

  test('the terminal closing (SIGHUP) or a kill (SIGTERM): left without asking', async () => {
    for (const signal of ['SIGHUP', 'SIGTERM']) {
      const h = harness('cancel');
      h.signals.emit(signal);
      await expect(h.followed).resolves.toEqual({ kind: 'left' });
      expect(h.ask).not.toHaveBeenCalled();
      expect(h.cancel).not.toHaveBeenCalled();
      expect(h.signals.eventNames()).toEqual([]);
    }
  });

  test('no Ctrl-C: the result', async () => {
    const h = harness('leave');
    h.settle.resolve('done');
    await expect(h.followed).resolves.toEqual({ kind: 'ended', result: 'done' });
    expect(h.ask).not.toHaveBeenCalled();
  });

  test('the question: y cancels; an empty answer leaves; without a terminal it leaves', async () => {
    const tty = (text: string) => {
      const input = Object.assign(new PassThrough(), { isTTY: true });
      setImmediate(() => input.write(text));
      return askCancelOrLeave(input, new PassThrough());
    };
    await expect(tty('y\n')).resolves.toBe('cancel');
    await expect(tty('\n')).resolves.toBe('leave');
    await expect(askCancelOrLeave(Object.assign(new PassThrough(), { isTTY: false }))).resolves.toBe('leave');
  });
});

describe('logs', () => {
  test('one line per event, without the task token', () => {
    const line = formatLogLine({
      level: 'INFO',
      message: 'Activity completed',
      timestampNanos: BigInt(T0) * 1_000_000n,
      meta: { taskToken: 'CiQ2YjQ…', activityType: 'fineTune', attempt: 1, workflowId: 'p 1' },
    });
    expect(line).toBe(
      '2026-11-30T12:00:00.000Z INFO  Activity completed activityType=fineTune attempt=1 workflowId="p 1"',
    );
  });

  test('demo/dev: SDK logs go to data/logs/<command>.log, not the console; --verbose: to stderr', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dst-logs-'));
    const script = (verbose: boolean) => `
      const { installCommandLogging } = require('./client/logging.ts');
      const { Runtime } = require('@temporalio/worker');
      const file = installCommandLogging(${JSON.stringify(dir)}, 'demo', ${verbose});
      Runtime.instance().logger.info('Activity completed', { taskToken: 'secret-token', activityType: 'fineTune' });
      // The CLI handles Ctrl-C itself: the SDK must not shut the workers down on it.
      process.stdout.write('file=' + file + ' signals=' + JSON.stringify(Runtime.instance().options.shutdownSignals));
      Runtime.instance().logger.flush(); // forwarded logs are buffered briefly to keep their order
      process.exit(0); // the SDK runtime would keep the process alive`;
    try {
      const run = (verbose: boolean) =>
        spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script(verbose)], {
          cwd: REPO,
          encoding: 'utf8',
        });
      const quiet = run(false);
      expect(quiet.stdout).toBe(`file=${path.join(dir, 'logs', 'demo.log')} signals=[]`);
      expect(quiet.stderr).toBe('');
      const logged = readFileSync(path.join(dir, 'logs', 'demo.log'), 'utf8');
      expect(logged).toMatch(/^\S+ INFO {2}Activity completed activityType=fineTune\n$/);
      const loud = run(true);
      expect(loud.stdout).toBe('file=undefined signals=[]');
      expect(loud.stderr).toMatch(/INFO {2}Activity completed activityType=fineTune\n$/);
      expect(loud.stderr).not.toContain('secret-token');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
