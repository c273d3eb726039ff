/** `writeReport`: the run's HTML page and Markdown tables, written next to its models. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/client';
import { loadReportData } from '../reporting/load';
import { reportHtml, reportMarkdown } from '../reporting/report';

export async function writeReportFiles(
  db: Db,
  runId: string,
  outDir: string,
): Promise<{ html: string; markdown: string }> {
  const data = await loadReportData(db, runId);
  mkdirSync(outDir, { recursive: true });
  const html = path.join(outDir, 'report.html');
  const markdown = path.join(outDir, 'report.md');
  writeFileSync(html, reportHtml(data));
  writeFileSync(markdown, reportMarkdown(data));
  return { html, markdown };
}

export function createReportActivities(deps: { db: Db }) {
  return {
    writeReport: (input: { runId: string; outDir: string }) =>
      writeReportFiles(deps.db, input.runId, input.outDir),
  };
}
