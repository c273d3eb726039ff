/**
 * Training-set variants of the paper's experiments (DESIGN.md §4): k real dialogues, and
 * the real data with every dialogue of one domain replaced by generated ones.
 */
import { createRng, deriveSeed } from '../simulator/rng';
import type { Dialogue } from '../multiwoz/types';

/** `k` dialogues drawn without replacement, the same for the same seed (all when k ≥ n). */
export function sampleK<T>(items: readonly T[], k: number, seed: number): T[] {
  const rng = createRng(deriveSeed(seed, `k${k}`));
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, Math.min(k, copy.length));
}

const touches = (d: Dialogue, domain: string) =>
  d.services.includes(domain) ||
  d.turns.some((t) => Object.keys(t.state ?? {}).some((s) => s.startsWith(`${domain}-`)));

/**
 * Real dialogues with every dialogue touching `domain` replaced by as many generated ones
 * touching it (fewer when not enough were generated). Whole dialogues are replaced, not
 * segments: a real dialogue's other domains go with it, which is the conservative reading.
 */
export function replaceDomain(
  real: readonly Dialogue[],
  generated: readonly Dialogue[],
  domain: string,
  seed: number,
): { dialogues: Dialogue[]; removed: number; added: number } {
  const kept = real.filter((d) => !touches(d, domain));
  const removed = real.length - kept.length;
  const pool = generated.filter((d) => touches(d, domain));
  const added = sampleK(pool, removed, seed);
  return { dialogues: [...kept, ...added], removed, added: added.length };
}
