/** `demo`, `run` and `watch`: a pipeline's live progress until it ends, then its report. */
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { PipelineResult } from '../workflows/pipeline';
import { askCancelOrLeave, follow, type FollowDeps } from './follow';
import { LiveOutput } from './live-output';
import { PipelineWatcher } from './pipeline-status';

export type PipelineEnd = 'completed' | 'left' | 'cancelled';

export interface FollowPipelineOptions {
  /** Printed when the person leaves the run on Ctrl-C: how to continue and follow it. */
  leaveHint: string;
  output?: LiveOutput;
  /** Test seams. */
  ask?: FollowDeps<unknown>['ask'];
  pollMs?: number;
}

/**
 * Follows run `runId`; on success prints the report paths and the summary tables. Throws
 * when the run fails (the cause's message), so the CLI exits non-zero.
 */
export async function followPipeline(
  client: Client,
  runId: string,
  opts: FollowPipelineOptions,
): Promise<PipelineEnd> {
  const watcher = new PipelineWatcher(client, runId);
  const output = opts.output ?? new LiveOutput();
  // A run left running must not keep its result's long poll alive past the connection.
  const polling = new AbortController();
  // Each long poll of the result adds a listener for the run's whole life: not a leak.
  setMaxListeners(0, polling.signal);
  const outcome = await follow<PipelineResult>({
    snapshot: () => watcher.snapshot(),
    result: () =>
      client.connection.withAbortSignal(
        polling.signal,
        () => watcher.handle.result() as Promise<PipelineResult>,
      ),
    cancel: async () => {
      await watcher.handle.cancel();
    },
    ask: opts.ask ?? (() => askCancelOrLeave()),
    output,
    pollMs: opts.pollMs,
  }).finally(() => polling.abort());
  switch (outcome.kind) {
    case 'failed':
      throw outcome.error;
    case 'left':
      console.log(`\nrun ${runId} left as it is. ${opts.leaveHint}`);
      return 'left';
    case 'cancelled':
      console.log(`run ${runId} cancelled`);
      return 'cancelled';
    case 'ended': {
      const { report } = outcome.result;
      console.log(`report: ${report.html}\n        ${report.markdown}`);
      console.log('\n' + readFileSync(report.markdown, 'utf8').split('## Training')[0]);
      return 'completed';
    }
  }
}
