import { Command } from 'commander';
import { registerDev } from './commands/dev';
import { registerImport } from './commands/import';
import { registerWorker } from './commands/worker';
import { registerEval } from './commands/eval';
import { registerDownload } from './commands/download';
import { registerDemo } from './commands/demo';
import { registerValidate } from './commands/validate';
import { registerAuditLabels } from './commands/audit-labels';
import { registerQuality } from './commands/quality';
import { registerSimulate } from './commands/simulate';
import { registerGenerate } from './commands/generate';
import { registerRun } from './commands/run';
import { registerExport } from './commands/export';

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
registerValidate(program);
registerAuditLabels(program);
registerQuality(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  // Known failures print one clear line; the stack is only for DEBUG.
  const msg = e instanceof Error ? e.message : String(e);
  console.error(`dst-synth: ${msg}`);
  if (process.env.DEBUG && e instanceof Error) console.error(e.stack);
  process.exit(1);
});
