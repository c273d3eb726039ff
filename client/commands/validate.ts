import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadDataset } from '../../multiwoz/loaders';
import { loadOntology } from '../../multiwoz/ontology';
import { loadVenueDb } from '../../multiwoz/venues';
import {
  summariseVerdicts,
  validateDialogue,
  verdictReasons,
  type DialogueVerdict,
  type VerdictSummary,
} from '../../simulator/checks';
import { parseOptions } from '../options';

const ValidateOptions = z.object({
  dialogues: z.string().min(1),
  split: z.enum(['train', 'dev', 'test']).optional(),
  json: z.boolean().default(false),
  verbose: z.boolean().default(false),
});

/**
 * `dst-synth validate`: runs the plan-free rule checks (`validateDialogue`) on every dialogue
 * of a file or folder and prints the verdicts and counts. Exits 0 whatever the verdicts: it
 * reports, it does not gate.
 */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('Run the rule checks on dialogues (generated or real) and count rejections by reason')
    .requiredOption(
      '--dialogues <path>',
      'a file or folder in the 2.2 layout (dialogues_NNN.json), or any layout `eval --gold` reads',
    )
    .option('--split <split>', 'train | dev | test (default: every dialogue the source holds)')
    .option('--json', 'print one JSON object {accepted, rejected, reasons, dialogues}')
    .option('--verbose', 'list accepted dialogues too, with every failed check')
    .action(async (raw: Record<string, unknown>) => {
      const opts = parseOptions(ValidateOptions, raw);
      const dialogues = await loadDataset({ source: path.resolve(opts.dialogues), split: opts.split });
      const deps = { ontology: loadOntology(), db: loadVenueDb() };
      const verdicts = dialogues.map((d) => validateDialogue(d, deps));
      const summary = summariseVerdicts(verdicts);
      console.log(
        opts.json
          ? JSON.stringify(toJson(summary, verdicts, opts.verbose))
          : formatText(summary, verdicts, opts.verbose),
      );
    });
}

/** The `--json` object; `failures` per dialogue only with `--verbose`. */
function toJson(summary: VerdictSummary, verdicts: readonly DialogueVerdict[], verbose: boolean) {
  return {
    ...summary,
    dialogues: verdicts.map((v) => ({
      id: v.id,
      accepted: v.accepted,
      reasons: verdictReasons(v),
      ...(verbose ? { failures: v.failures } : {}),
    })),
  };
}

function formatText(summary: VerdictSummary, verdicts: readonly DialogueVerdict[], verbose: boolean): string {
  const lines: string[] = [];
  for (const v of verdicts) {
    if (v.accepted && !verbose) continue;
    lines.push(`${v.id}\t${v.accepted ? 'accepted' : 'rejected'}\t${verdictReasons(v).join(', ')}`);
    if (verbose) for (const f of v.failures) lines.push(`  turn ${f.turn + 1}: ${f.reason}: ${f.detail}`);
  }
  const total = summary.accepted + summary.rejected;
  const pct = total ? ((100 * summary.accepted) / total).toFixed(1) : '0.0';
  lines.push(`accepted ${summary.accepted} of ${total} (${pct}%), rejected ${summary.rejected}`);
  const seen = Object.entries(summary.reasons)
    .filter(([, n]) => n > 0)
    .sort(([, a], [, b]) => b - a);
  if (seen.length) lines.push('dialogues with at least one failure, by reason:');
  for (const [reason, n] of seen) lines.push(`  ${reason.padEnd(22)} ${n}`);
  return lines.join('\n');
}
