import path from 'node:path';
import type { Command } from 'commander';
import { mergeExports } from '../../multiwoz/merge-exports';

export function registerMerge(program: Command): void {
  program
    .command('merge <dirs...>')
    .description(
      'Merge `export` folders (or earlier merges) into one of the same layout; a run given again replaces its earlier part',
    )
    .requiredOption('--out <dir>', 'the merged folder (may be one of the inputs)')
    .option('--json', 'print the merged summary as one JSON object')
    .action(async (dirs: string[], raw: { out: string; json?: boolean }) => {
      const out = path.resolve(raw.out);
      const s = await mergeExports(
        dirs.map((d) => path.resolve(d)),
        out,
      );
      if (raw.json) {
        console.log(JSON.stringify({ ...s, out }));
        return;
      }
      const runs = s.parts.map((p) => `${p.run} ${p.accepted}/${p.done}`).join(', ');
      console.log(
        [
          `merged ${s.parts.length} runs (accepted/done: ${runs})`,
          `  ${s.dialogues} dialogues, ${s.turns} user turns; ${s.goals} goals, ${s.accepted} accepted, ${s.rejected} rejected, ${s.pending} pending`,
          `  written to ${out} (multiwoz22/, data.json, accepted.jsonl, rejected.jsonl, goals.jsonl, summary.json)`,
        ].join('\n'),
      );
    });
}
