/**
 * `QualityReport` as a console table and as the run report's Markdown section (whose tables
 * the report's HTML renders too). Samples are Markdown tables: one row per turn, the state
 * after each user turn beside it.
 */
import type { QualityReport, SampleDialogue, SideCounts } from './quality';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const num = (x: number, d = 1) => x.toFixed(d);
const cell = (s: string) => s.replace(/\|/g, '/').replace(/\n/g, ' ');

const ROWS: Array<[string, (s: SideCounts) => string]> = [
  ['dialogues', (s) => String(s.dialogues)],
  ['turns (user + system)', (s) => String(s.turns)],
  ['user turns', (s) => String(s.userTurns)],
  ['turns per dialogue', (s) => num(s.turnsPerDialogue)],
  ['domains per dialogue', (s) => num(s.domainsPerDialogue, 2)],
  ['user-turn length (tokens)', (s) => num(s.avgUserTokens)],
  ['distinct-1 of user turns', (s) => num(s.distinct1, 3)],
  ['distinct-2 of user turns', (s) => num(s.distinct2, 3)],
  ['user turns repeated verbatim across dialogues', (s) => pct(s.repeatedUserTurns)],
  ['user turns whose state changed', (s) => pct(s.stateChangedShare)],
];

const counts = (m: Record<string, number>) =>
  Object.entries(m)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

function stateText(s: Record<string, string> | undefined): string {
  return Object.entries(s ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** Plain text for the console. */
export function qualityText(q: QualityReport): string {
  const w = Math.max(...ROWS.map(([n]) => n.length)) + 2;
  const lines = [
    `${'data quality'.padEnd(w)}${'generated'.padStart(12)}${'real train'.padStart(12)}`,
    ...ROWS.map(([name, f]) => `${name.padEnd(w)}${f(q.generated).padStart(12)}${f(q.real).padStart(12)}`),
    `(real language figures on its first ${q.real.userTurns ? 'dialogues up to as many user turns as generated' : '–'})`,
    '',
    `domain combinations: ${q.domainCombinations.generated.length} generated, ${pct(q.domainCombinations.realCovered)} of the ${q.domainCombinations.realDistinct} real ones covered`,
    ...q.domainCombinations.generated
      .slice(0, 8)
      .map(
        (c) =>
          `  ${c.domains.padEnd(34)} ${String(c.dialogues).padStart(5)}${c.inReal ? '' : '  (not in real data)'}`,
      ),
    '',
    'slot value coverage (share of reference values seen; values never in real data):',
    ...q.slots
      .filter((s) => s.generated > 0 || s.reference > 0)
      .map(
        (s) =>
          `  ${s.slot.padEnd(22)} ${pct(s.coverage).padStart(6)} of ${String(s.reference).padStart(4)} ${s.referenceKind.padEnd(8)}` +
          (s.unseenInRealCount ? `  unseen ${s.unseenInRealCount}: ${s.unseenInReal.join(', ')}` : ''),
      ),
    `values never seen in real data: ${q.unseenInRealTotal}`,
    '',
    `rejected attempts by reason: ${counts(q.rejections)}`,
    `corrections by the checks (accepted dialogues): ${counts(q.corrections)}`,
  ];
  for (const s of q.samples) {
    lines.push('', `sample ${s.id}:`);
    for (const t of s.turns) {
      lines.push(`  ${t.speaker === 'USER' ? 'USER  ' : 'SYSTEM'} ${t.utterance}`);
      if (t.state) lines.push(`         state: ${stateText(t.state) || '{}'}`);
    }
  }
  return lines.join('\n');
}

/** A sample dialogue as a Markdown table. */
export function sampleMarkdown(s: SampleDialogue): string[] {
  return [
    `#### ${s.id}`,
    '',
    '| speaker | utterance | state after the user turn |',
    '|---|---|---|',
    ...s.turns.map(
      (t) => `| ${t.speaker} | ${cell(t.utterance)} | ${t.state ? cell(stateText(t.state) || '{}') : ''} |`,
    ),
    '',
  ];
}

/** The report's "Data quality" section (without the samples, which the report puts near the top). */
export function qualityMarkdown(q: QualityReport): string[] {
  return [
    '## Data quality (generated vs real training split)',
    '',
    '| measure | generated | real train |',
    '|---|---:|---:|',
    ...ROWS.map(([name, f]) => `| ${name} | ${f(q.generated)} | ${f(q.real)} |`),
    '',
    `Domain combinations: ${q.domainCombinations.generated.length} generated, covering ${pct(q.domainCombinations.realCovered)} of the ${q.domainCombinations.realDistinct} real ones. Values never seen in real data: ${q.unseenInRealTotal}.`,
    '',
    '| slot | coverage | reference values | generated values | unseen in real (examples) |',
    '|---|---:|---:|---:|---|',
    ...q.slots
      .filter((s) => s.generated > 0)
      .map(
        (s) =>
          `| ${s.slot} | ${pct(s.coverage)} | ${s.reference} (${s.referenceKind}) | ${s.generated} | ${cell(s.unseenInReal.join(', '))} |`,
      ),
    '',
    `Rejected attempts by reason: ${counts(q.rejections)}. Corrections by the checks: ${counts(q.corrections)}.`,
    '',
  ];
}
