import cliProgress from 'cli-progress';

export interface ProgressView {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

/** A progress bar on a terminal; plain lines (at most one per 5 s) when output is piped. */
export function progressView(title: string): ProgressView {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${title} [{bar}] {percentage}% {value}/{total} {label}`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, label = '') {
        if (!started) {
          bar.start(total, done, { label });
          started = true;
        }
        bar.setTotal(total);
        bar.update(done, { label });
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(done, total, label = '') {
      const now = Date.now();
      if (now - last < 5000 && done < total) return;
      last = now;
      process.stderr.write(`${title}: ${done}/${total} ${label}\n`);
    },
    stop: () => undefined,
  };
}
