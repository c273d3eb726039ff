/**
 * Scoring speed on the full MultiWOZ 2.1 test set (1,000 dialogues, 7,372 user turns).
 *
 * Baseline, measured in the same run: a direct scorer that normalises every value at every
 * comparison and compares turns as sorted, JSON-stringified slot=value lists — what one
 * writes first. Ratio = baseline CPU time / our CPU time (higher is better).
 *
 * Run: `npx tsx bench/metrics.bench.ts [--repeat N]`
 */
import path from 'node:path';
import { CONVENTION_NAMES } from '../metrics/conventions';
import { normaliseTradeValue } from '../metrics/normalise';
import { score, type Prediction } from '../metrics/score';
import { goldAsPredictions } from '../metrics/write-gold';
import { loadDataset } from '../multiwoz/loaders';
import { multiwozDir } from '../multiwoz/paths';
import { TRACKED_SLOTS } from '../multiwoz/slots';
import type { Dialogue } from '../multiwoz/types';
import { textTable } from '../common/text-table';

function cpuMs<T>(fn: () => T): { ms: number; result: T } {
  const t0 = process.cpuUsage();
  const result = fn();
  const d = process.cpuUsage(t0);
  return { ms: (d.user + d.system) / 1000, result };
}

function best<T>(repeat: number, fn: () => T): { ms: number; result: T } {
  let out = cpuMs(fn);
  for (let i = 1; i < repeat; i++) {
    const r = cpuMs(fn);
    if (r.ms < out.ms) out = r;
  }
  return out;
}

/** The naive scorer: TRADE JGA only. */
function naiveJga(gold: readonly Dialogue[], preds: readonly Prediction[]): number {
  const pairs = (state: Record<string, string>) =>
    JSON.stringify(
      Object.entries(state)
        .filter(([s]) => (TRACKED_SLOTS as readonly string[]).includes(s))
        .map(([s, v]) => `${s}=${normaliseTradeValue(s, v)}`)
        .filter((p) => !p.endsWith('='))
        .sort(),
    );
  let right = 0;
  let turns = 0;
  for (const d of gold) {
    let i = 0;
    for (const t of d.turns) {
      if (t.speaker !== 'USER') continue;
      const p = preds.find((x) => x.dialogueId === d.id && x.turn === i);
      const g: Record<string, string> = {};
      for (const [s, vs] of Object.entries(t.state ?? {})) if (vs[0]) g[s] = vs[0];
      if (pairs(g) === pairs(p?.state ?? {})) right++;
      turns++;
      i++;
    }
  }
  return right / turns;
}

async function main(): Promise<void> {
  const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1]) || 5;
  const load = cpuMs(() =>
    loadDataset({ source: path.join(multiwozDir(), '2.1/test.json.zip'), split: 'test' }),
  );
  const gold = await load.result;
  const preds = goldAsPredictions(gold);
  // Perturb a tenth of the predictions so the scorer sees both right and wrong turns.
  preds.forEach((p, i) => {
    if (i % 10 === 0) p.state = { ...p.state, 'hotel-area': 'center' };
  });
  const naive = best(Math.min(repeat, 2), () => naiveJga(gold, preds));
  const rows = [['scorer', 'turns', 'JGA', 'CPU ms', 'turns/s', 'vs baseline']];
  const row = (name: string, turns: number, jga: number, ms: number) =>
    rows.push([
      name,
      String(turns),
      jga.toFixed(4),
      ms.toFixed(1),
      Math.round((turns / ms) * 1000).toString(),
      (naive.ms / ms).toFixed(1) + 'x',
    ]);
  row('baseline (naive, trade)', 7372, naive.result, naive.ms);
  for (const c of CONVENTION_NAMES) {
    const r = best(repeat, () => score({ convention: c, gold, predictions: preds }));
    row(`dst-synth ${c}`, r.result.turns, r.result.jga, r.ms);
  }
  console.log(textTable(rows));
  console.log(
    `\nload 2.1 test.json.zip (not in the scores above): ${load.ms.toFixed(0)} ms CPU (sync part); best of ${repeat} runs`,
  );
}

void main();
