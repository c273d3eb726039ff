/**
 * The embedded services run in their own process groups (a terminal's Ctrl-C must reach only
 * the CLI, which asks what to do), so a signal must never end the CLI before it has stopped
 * them: while trapped, a signal only calls the handler.
 */

/** Ctrl-C, the terminal closing, a polite kill. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGHUP', 'SIGTERM'];

/** Routes `signals` to `onSignal` until the returned function is called. */
export function trapSignals(
  signals: readonly NodeJS.Signals[],
  onSignal: (signal: NodeJS.Signals) => void,
): () => void {
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
