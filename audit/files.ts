/**
 * The audit's folder (`audit-labels --out`):
 *
 * - `audited.jsonl`: one line per finished dialogue (`AuditedDialogue` + the run's `config`
 *   key). A rerun with the same folder and config reuses these lines and only asks the LLM
 *   for the dialogues not yet done, so an interrupted audit resumes where it stopped.
 * - `predictions.jsonl` (after checks) and `predictions.raw.jsonl`: the `eval --pred` format;
 * - `gold/multiwoz22/test/dialogues_NNN.json`: the audited dialogues' gold (2.2 layout,
 *   lossless), so `eval --gold <out>/gold/multiwoz22` scores exactly the audited turns;
 * - `audit.json`: the report.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeExport } from '../multiwoz/export';
import type { Dialogue } from '../multiwoz/types';
import { predictionLines, type AuditedDialogue, type AuditReport } from './label-audit';

export const AUDITED_FILE = 'audited.jsonl';
export const PREDICTIONS_FILE = 'predictions.jsonl';
export const RAW_PREDICTIONS_FILE = 'predictions.raw.jsonl';
export const GOLD_DIR = path.join('gold', 'multiwoz22');

/** Finished dialogues saved under the same `config` key (others are ignored: a new audit). */
export function readAudited(outDir: string, config: string): Map<string, AuditedDialogue> {
  const file = path.join(outDir, AUDITED_FILE);
  const out = new Map<string, AuditedDialogue>();
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line) as AuditedDialogue & { config?: string };
      if (row.config === config) out.set(row.id, { id: row.id, turns: row.turns });
    } catch {
      // A line cut short by a kill mid-write: that dialogue is simply redone.
    }
  }
  return out;
}

export function appendAudited(outDir: string, config: string, d: AuditedDialogue): void {
  mkdirSync(outDir, { recursive: true });
  appendFileSync(path.join(outDir, AUDITED_FILE), JSON.stringify({ config, ...d }) + '\n');
}

/** Writes predictions, the gold copy and the report; returns the `eval` command that rescores. */
export async function writeAuditOutputs(
  outDir: string,
  gold: readonly Dialogue[],
  audited: readonly AuditedDialogue[],
  report: AuditReport,
): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const lines = (which: 'raw' | 'checked') => predictionLines(audited, which).join('\n') + '\n';
  writeFileSync(path.join(outDir, PREDICTIONS_FILE), lines('checked'));
  writeFileSync(path.join(outDir, RAW_PREDICTIONS_FILE), lines('raw'));
  const ids = new Set(audited.map((a) => a.id));
  await writeExport({
    dialogues: gold.filter((d) => ids.has(d.id)),
    outDir: path.join(outDir, 'gold'),
    layouts: ['multiwoz22'],
    split: 'test',
  });
  writeFileSync(path.join(outDir, 'audit.json'), JSON.stringify(report, null, 2) + '\n');
  return `npx dst-synth eval --convention ${report.convention} --gold ${path.join(outDir, GOLD_DIR)} --pred ${path.join(outDir, PREDICTIONS_FILE)}`;
}
