import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { CONVENTION_NAMES, CONVENTIONS, type Convention } from '../../metrics/conventions';
import { formatReports } from '../../metrics/format';
import { readPredictions, score, type ScoreReport } from '../../metrics/score';
import { loadDataset } from '../../multiwoz/loaders';
import { parseOptions } from '../options';
import { inferSplit } from './import';

const EvalOptions = z.object({
  convention: z
    .string()
    .default('trade')
    .transform((s) => (s === 'all' ? [...CONVENTION_NAMES] : s.split(',').map((c) => c.trim())))
    .pipe(z.array(z.enum(CONVENTION_NAMES as [Convention, ...Convention[]])).min(1)),
  gold: z.string().min(1),
  pred: z.string().min(1),
  dataset: z.enum(['multiwoz21', 'multiwoz22', 'multiwoz24']).optional(),
  split: z.enum(['train', 'dev', 'test']).optional(),
  json: z.boolean().default(false),
});

export function registerEval(program: Command): void {
  const conventions = CONVENTION_NAMES.map((c) => `  ${c}: ${CONVENTIONS[c].summary}`).join('\n');
  program
    .command('eval')
    .description('Score DST predictions (JSON lines) against MultiWOZ gold states')
    .option('--convention <name>', 'trade | sgd | luas, a comma list, or all', 'trade')
    .requiredOption('--gold <path>', 'gold MultiWOZ data: a file or folder in any supported layout')
    .requiredOption('--pred <preds.jsonl>', 'predictions: {"dialogue_id","turn","state"} per line')
    .option('--dataset <name>', 'multiwoz21 | multiwoz22 | multiwoz24 (default: from the layout)')
    .option('--split <split>', 'train | dev | test (default: from the file name, else test)')
    .option('--json', 'print one JSON object (one per convention: an array when several)')
    .addHelpText('after', `\nConventions (DESIGN.md §1):\n${conventions}`)
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(EvalOptions, raw);
      const gold = path.resolve(opts.gold);
      const split = opts.split ?? inferSplit(gold) ?? 'test';
      const [dialogues, predictions] = await Promise.all([
        loadDataset({ dataset: opts.dataset, source: gold, split }),
        readPredictions(path.resolve(opts.pred)),
      ]);
      const reports = opts.convention.map((convention) =>
        score({ convention, gold: dialogues, predictions }),
      );
      printReports(reports, opts.json);
    });
}

function printReports(reports: ScoreReport[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports));
    return;
  }
  console.log(formatReports(reports));
  const r = reports[0];
  if (r?.missingPredictions)
    console.error(
      `warning: ${r.missingPredictions} of ${r.turns} gold turns had no prediction (scored as empty states)`,
    );
  if (r?.unmatchedPredictions)
    console.error(`warning: ${r.unmatchedPredictions} predictions match no gold turn (ignored)`);
}
