/**
 * Where the worker's and the Temporal SDK's logs go. `demo` and `dev` keep the console for
 * the person watching (progress, questions) and write the logs to a file under the data
 * folder; `worker` is a server and logs to stdout, one line per event. Either way a line
 * never carries an activity's task token (a credential-like blob that only adds noise).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';

/** Metadata keys left out of log lines. */
const HIDDEN_KEYS = new Set(['taskToken', 'sdkComponent']);

function metaValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v);
}

/** `2026-11-30T12:00:00.000Z INFO  Activity completed activityType=fineTune attempt=1 …`. */
export function formatLogLine(
  entry: Pick<LogEntry, 'level' | 'message' | 'timestampNanos' | 'meta'>,
): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = Object.entries(entry.meta ?? {})
    .filter(([k, v]) => !HIDDEN_KEYS.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${metaValue(v)}`);
  const message = entry.message.replace(/\s*\n\s*/g, ' ');
  return [time, entry.level.padEnd(5), message, ...meta].join(' ');
}

/**
 * Routes SDK and worker logs (and the SDK core's warnings, forwarded) to `write`, one line
 * each. Call once, before the first worker or native connection is created.
 */
export function installLogSink(
  write: (line: string) => void,
  opts: { level?: 'DEBUG' | 'INFO' | 'WARN'; ownSignals?: boolean } = {},
) {
  Runtime.install({
    logger: new DefaultLogger(opts.level ?? 'INFO', (entry) => write(formatLogLine(entry))),
    // By default the SDK shuts every worker down on SIGINT/SIGTERM; `demo` and `dev` decide
    // themselves (Ctrl-C asks first, and a cancelled run needs the worker to wind down).
    ...(opts.ownSignals ? { shutdownSignals: [] } : {}),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
}

/**
 * `demo`/`dev`: logs to `<dataDir>/logs/<name>.log` (appended), or to stderr with
 * `verbose`. Returns the file, when one is used, to print once.
 */
export function installCommandLogging(dataDir: string, name: string, verbose: boolean): string | undefined {
  if (verbose) {
    installLogSink((line) => process.stderr.write(line + '\n'), { ownSignals: true });
    return undefined;
  }
  const dir = path.join(dataDir, 'logs');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.log`);
  installLogSink((line) => appendFileSync(file, line + '\n'), { ownSignals: true });
  return file;
}

/** `worker`: one line per event on stdout, as servers log. */
export function installServerLogging(): void {
  installLogSink((line) => process.stdout.write(line + '\n'));
}
