import { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { registerDev } from './commands/dev';
import { registerImport } from './commands/import';
import { registerWorker } from './commands/worker';
import { registerEval } from './commands/eval';
import { registerDownload } from './commands/download';
import { registerDemo } from './commands/demo';
import { registerValidate } from './commands/validate';
import { registerAuditLabels } from './commands/audit-labels';
import { registerQuality } from './commands/quality';
import { registerReview } from './commands/review';
import { registerSimulate } from './commands/simulate';
import { registerGenerate } from './commands/generate';
import { registerRun } from './commands/run';
import { registerExport } from './commands/export';
import { registerMerge } from './commands/merge';

// A console whose reader went away (`dev | tee` after Ctrl-C stops tee) must not crash the CLI
// mid-shutdown: the rest of its output has nowhere to go, the orderly stop still runs.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });

const program = new Command()
  .name('dst-synth')
  .description('Grow DST training data with LLM user/agent simulation on Temporal, and score DST models')
  .showHelpAfterError();

registerDev(program);
registerWorker(program);
registerImport(program);
registerDownload(program);
registerEval(program);
registerDemo(program);
registerSimulate(program);
registerGenerate(program);
registerRun(program);
registerExport(program);
registerMerge(program);
registerValidate(program);
registerAuditLabels(program);
registerQuality(program);
registerReview(program);

/**
 * A failed workflow's own message is only "Workflow execution failed"; what went wrong (a bad
 * file, a missing run) is the message of its innermost cause, the activity's ApplicationFailure.
 */
function failureMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (!(e instanceof WorkflowFailedError)) return e.message;
  let inner: Error = e;
  while (inner.cause instanceof Error) inner = inner.cause;
  return inner === e ? e.message : `${e.message}: ${inner.message}`;
}

program.parseAsync(process.argv).catch((e: unknown) => {
  // Known failures print one clear line; the stack is only for DEBUG.
  const msg = failureMessage(e);
  console.error(`dst-synth: ${msg}`);
  if (process.env.DEBUG && e instanceof Error) console.error(e.stack);
  process.exit(1);
});
