import type { Command } from 'commander';

/** `dst-synth quality`: registered here; implemented in reporting/quality.ts. */
export function registerQuality(program: Command): void {
  program
    .command('quality <source>')
    .description('Data-quality report of a generation run or an exported folder (coming)');
}
