/**
 * The plain-text tables of the console and the benchmarks: the first column left-aligned, the
 * others right-aligned (numbers), each column as wide as its widest cell, two spaces apart.
 */

/** Rows of cells (a header is just the first row) as lines joined by `\n`. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}
