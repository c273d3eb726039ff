import { TRACKED_DOMAINS } from '../multiwoz/types';
import { textTable } from '../common/text-table';
import type { ScoreReport } from './score';

const pct = (x: number) => (100 * x).toFixed(2);

/** A plain-text table of one or more reports (one column per convention). */
export function formatReports(reports: readonly ScoreReport[]): string {
  const rows: string[][] = [['', ...reports.map((r) => r.convention)]];
  rows.push(['JGA %', ...reports.map((r) => pct(r.jga))]);
  rows.push(['slot accuracy %', ...reports.map((r) => pct(r.slotAccuracy))]);
  rows.push(['slot F1 %', ...reports.map((r) => pct(r.slotF1))]);
  for (const d of TRACKED_DOMAINS) {
    if (!reports.some((r) => r.perDomain[d])) continue;
    rows.push([`JGA ${d} %`, ...reports.map((r) => (r.perDomain[d] ? pct(r.perDomain[d].jga) : '-'))]);
  }
  rows.push(['turns', ...reports.map((r) => String(r.turns))]);
  rows.push(['dialogues', ...reports.map((r) => String(r.dialogues))]);
  rows.push(['missing predictions', ...reports.map((r) => String(r.missingPredictions))]);
  return textTable(rows);
}
