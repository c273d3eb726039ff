/** Tiny inline-SVG charts (no dependencies): the report stays one self-contained file. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
}

/** A line chart of several series (training loss curves). */
export function lineChart(title: string, series: Series[], w = 560, h = 260): string {
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) return `<p><em>${esc(title)}: no points</em></p>`;
  const [x0, x1] = [Math.min(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.x))];
  const [y0, y1] = [Math.min(0, ...pts.map((p) => p.y)), Math.max(...pts.map((p) => p.y))];
  const m = { l: 50, r: 120, t: 24, b: 30 };
  const sx = (x: number) => m.l + ((x - x0) / Math.max(1e-9, x1 - x0)) * (w - m.l - m.r);
  const sy = (y: number) => h - m.b - ((y - y0) / Math.max(1e-9, y1 - y0)) * (h - m.t - m.b);
  const lines = series.map((s, i) => {
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
    const c = COLORS[i % COLORS.length];
    return `<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/><text x="${w - m.r + 8}" y="${m.t + 16 * i + 10}" fill="${c}" font-size="12">${esc(s.name)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="${esc(title)}">
<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>
<line x1="${m.l}" y1="${h - m.b}" x2="${w - m.r}" y2="${h - m.b}" stroke="#888"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${h - m.b}" stroke="#888"/>
<text x="${m.l - 6}" y="${sy(y1) + 4}" font-size="10" text-anchor="end">${y1.toFixed(2)}</text><text x="${m.l - 6}" y="${sy(y0) + 4}" font-size="10" text-anchor="end">${y0.toFixed(2)}</text>
<text x="${m.l}" y="${h - 10}" font-size="10">${x0}</text><text x="${w - m.r}" y="${h - 10}" font-size="10" text-anchor="end">${x1} steps</text>
${lines.join('\n')}</svg>`;
}

/** A fixed value axis: bars scaled to `max` (not to the largest value), with ticks. */
export interface BarAxis {
  /** Top of the axis, e.g. 100 for percentages. */
  max: number;
  /** Unit shown on the tick labels, e.g. `%`. */
  unit?: string;
}

/**
 * Grouped bars: one group per label, one bar per series (JGA baseline vs two-stage). Without
 * `axis` the bars are scaled to the largest value (counts); with it, to a labelled fixed axis,
 * so 0.98 % does not fill the chart.
 */
export function barChart(
  title: string,
  labels: string[],
  series: Array<{ name: string; values: number[] }>,
  w = 560,
  h = 260,
  axis?: BarAxis,
): string {
  const m = { l: 40, r: 130, t: 24, b: 40 };
  const max = axis?.max ?? Math.max(1, ...series.flatMap((s) => s.values));
  const gw = (w - m.l - m.r) / Math.max(1, labels.length);
  const bw = (gw * 0.8) / Math.max(1, series.length);
  const bars = labels.flatMap((label, g) =>
    series.map((s, i) => {
      const v = s.values[g] ?? 0;
      const bh = (v / max) * (h - m.t - m.b);
      const x = m.l + g * gw + gw * 0.1 + i * bw;
      return `<rect x="${x.toFixed(1)}" y="${(h - m.b - bh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${COLORS[i % COLORS.length]}"><title>${esc(s.name)} ${esc(label)}: ${v.toFixed(2)}</title></rect><text x="${(x + bw / 2).toFixed(1)}" y="${(h - m.b - bh - 3).toFixed(1)}" font-size="9" text-anchor="middle">${v.toFixed(1)}</text>`;
    }),
  );
  const xl = labels.map(
    (l, g) =>
      `<text x="${(m.l + g * gw + gw / 2).toFixed(1)}" y="${h - m.b + 14}" font-size="11" text-anchor="middle">${esc(l)}</text>`,
  );
  const legend = series.map(
    (s, i) =>
      `<text x="${w - m.r + 8}" y="${m.t + 16 * i + 10}" fill="${COLORS[i % COLORS.length]}" font-size="12">${esc(s.name)}</text>`,
  );
  const ticks = axis
    ? [0, 0.25, 0.5, 0.75, 1].map((f) => {
        const y = (h - m.b - f * (h - m.t - m.b)).toFixed(1);
        return `<line x1="${m.l - 4}" y1="${y}" x2="${w - m.r}" y2="${y}" stroke="#eee"/><text x="${m.l - 6}" y="${Number(y) + 4}" font-size="10" text-anchor="end">${+(f * axis.max).toFixed(1)}${esc(axis.unit ?? '')}</text>`;
      })
    : [];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="${esc(title)}">
<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>
${ticks.join('\n')}
<line x1="${m.l}" y1="${h - m.b}" x2="${w - m.r}" y2="${h - m.b}" stroke="#888"/>${axis ? `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${h - m.b}" stroke="#888"/>` : ''}
${bars.join('\n')}
${xl.join('\n')}
${legend.join('\n')}</svg>`;
}

export { esc };
