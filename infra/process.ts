import type { ChildProcess } from 'node:child_process';

/** Sends `signal`, then SIGKILL after `graceMs`; resolves when the process is gone. */
export function stopChild(
  child: ChildProcess,
  graceMs = 10_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * Signals `child` when this process exits while the child still runs: the last resort for an
 * exit that skipped the orderly stop (an uncaught error), since the services run in process
 * groups of their own and would otherwise outlive the CLI (and block the next `dev`).
 */
export function stopOnExit(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  const hook = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.once('exit', hook);
  child.once('exit', () => process.off('exit', hook));
}
