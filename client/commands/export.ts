import path from 'node:path';
import type { Command } from 'commander';
import { exportRun, type ExportSummary } from '../../activities/export-run';
import { openDb } from '../../db/client';
import { resolveDatabaseUrl } from '../../infra/discovery';
import { loadSettings } from '../../infra/settings';
import { progressView } from '../progress';

export function registerExport(program: Command): void {
  program
    .command('export <run>')
    .description(
      "Write a generation run's dialogues (or a pipeline's generation step) like `simulate`: 2.2 layout, data.json, accepted/rejected.jsonl, summary.json",
    )
    .option('--out <dir>', 'folder (default: data/runs/<run>/export)')
    .option('--json', 'print the summary as one JSON object')
    .action(async (runId: string, raw: Record<string, unknown>) => {
      const settings = loadSettings();
      const out = path.resolve(
        typeof raw.out === 'string'
          ? raw.out
          : path.join(settings.DST_SYNTH_DATA_DIR, 'runs', runId, 'export'),
      );
      const db = openDb(resolveDatabaseUrl(settings));
      const view = progressView('export');
      let s: ExportSummary;
      try {
        s = (
          await exportRun(db.db, runId, out, {
            onProgress: (done, total) => view.update(done, total, 'goals'),
          })
        ).summary;
      } finally {
        view.stop();
        await db.close();
      }
      if (raw.json) {
        console.log(JSON.stringify({ ...s, out }));
        return;
      }
      const reasons = Object.entries(s.reasons).map(([r, n]) => `${r} ${n}`);
      console.log(
        [
          `run ${s.run}: ${s.goals} goals, ${s.accepted} accepted, ${s.rejected} rejected, ${s.pending} pending`,
          `  rejected attempts by reason: ${reasons.join(', ') || 'none'}`,
          `  ${s.dialogues} dialogues, ${s.turns} user turns; LLM calls ${s.usage.calls}, cost $${s.usage.costUsd.toFixed(4)}`,
          `  written to ${out} (multiwoz22/, data.json, accepted.jsonl, rejected.jsonl, goals.jsonl, summary.json)`,
        ].join('\n'),
      );
    });
}
