/** `writeReport`: the run's HTML page and Markdown tables, written next to its models. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/client';
import type { Dialogue } from '../multiwoz/types';
import { loadReportData, type ReportLoadOptions } from '../reporting/load';
import { reportHtml, reportMarkdown } from '../reporting/report';
import { withHeartbeat } from './heartbeat';

export async function writeReportFiles(
  db: Db,
  runId: string,
  outDir: string,
  opts: ReportLoadOptions = {},
): Promise<{ html: string; markdown: string }> {
  const data = await loadReportData(db, runId, opts);
  mkdirSync(outDir, { recursive: true });
  const html = path.join(outDir, 'report.html');
  const markdown = path.join(outDir, 'report.md');
  writeFileSync(html, reportHtml(data));
  writeFileSync(markdown, reportMarkdown(data));
  return { html, markdown };
}

export interface ReportActivityDeps {
  db: Db;
  /**
   * The real training split for the quality section, shared by the worker's reports (and its
   * generation activities). Default: read on every report.
   */
  realTraining?: () => Promise<Dialogue[]>;
}

export function createReportActivities(deps: ReportActivityDeps) {
  return {
    // Reading the 8,438-dialogue train split and comparing takes minutes on a busy worker, with
    // no progress point: heartbeat on a timer (the data queue's heartbeat timeout is 5 min).
    writeReport: (input: { runId: string; outDir: string }) =>
      withHeartbeat(() =>
        writeReportFiles(deps.db, input.runId, input.outDir, { realTraining: deps.realTraining }),
      ),
  };
}
