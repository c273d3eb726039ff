/**
 * In-context examples for the state labeller (IC-DST style): the real annotated TRAINING turns
 * most similar to the turn being labelled, each with its state update (the turn's delta), shown
 * to the labeller as worked examples (`simulator/prompts/labeller.ts`).
 *
 * The retriever is BM25 (Okapi, k1 = 1.2, b = 0.75) over the words of each training user turn
 * and the system turn before it, implemented here in a few hundred lines of TypeScript: it
 * needs no model file (none can be downloaded where generation runs offline), builds over the
 * 2.1 train split (~56k user turns) in about a second, answers a query in a few milliseconds on
 * one core, and is deterministic. A sentence-embedding retriever would need a pinned model and
 * an embedding call per turn on the CPU the labeller itself needs.
 *
 * Only the training split is indexed: `buildTurnRetriever` refuses any other split, and
 * `loadTurnRetriever` also leaves out every id of the release's dev and test lists
 * (`valListFile`, `testListFile`), so no test (or dev) dialogue can ever be shown to the
 * labeller while it is audited on them.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { loadDataset, loadSplitList } from '../multiwoz/loaders';
import { multiwozDir } from '../multiwoz/paths';
import { slotDomain } from '../multiwoz/slots';
import { mentionedAny, prepare } from './mentions';
import { createSpellings } from './spellings';
import { SPLIT, type Dialogue, type DialogueState, type Split } from '../multiwoz/types';

/** One retrieved training turn. */
export interface RetrievedTurn {
  dialogueId: string;
  /** 0-based user-turn index in its dialogue. */
  turn: number;
  /** The system utterance before the user turn (`''` for the first). */
  system: string;
  user: string;
  /** The gold state update of the turn: slots added or changed (first gold value each). */
  update: Record<string, string>;
  score: number;
}

export interface RetrievalQuery {
  /** The system utterance before the user turn (`''` for the first). */
  system: string;
  user: string;
  /**
   * Domains of the listed slots: an example whose update touches another domain is skipped (a
   * small model copies slots from its examples). Default: any.
   */
  domains?: Iterable<string>;
  /** A dialogue never to return (its own turns, when the labelled dialogue is a training one). */
  excludeDialogue?: string;
}

export interface TurnRetriever {
  /** Always `train`: the only split an index is built from. */
  readonly split: typeof SPLIT.TRAIN;
  /** Indexed user turns. */
  readonly size: number;
  /** True when some turn of the dialogue is indexed. */
  hasDialogue(id: string): boolean;
  /** The `k` most similar turns, best first, at most one per dialogue. */
  search(query: RetrievalQuery, k: number): RetrievedTurn[];
  /** The indexed dialogues' annotated spelling of a value (`Spellings.spelling`). */
  spelling(slot: string, value: string): string | undefined;
  /**
   * Every indexed turn whose update sets exactly `slots` (in any order), in corpus order: the
   * real turns that said the same kind of facts (simulator/user-examples.ts).
   */
  sameUpdate(slots: readonly string[]): readonly UpdateTurn[];
}

/** An indexed training turn with the whole state after it (first gold value of each slot). */
export interface UpdateTurn {
  dialogueId: string;
  user: string;
  update: Record<string, string>;
  state: Record<string, string>;
}

const slotsKey = (slots: Iterable<string>) => [...slots].sort().join(' ');

const K1 = 1.2;
const B = 0.75;
/** Weight of the system utterance's words in a query (the user's count 1). */
const SYSTEM_WEIGHT = 0.5;

// Function words that occur in most turns: no evidence of what the turn is about.
const STOPWORDS = new Set(
  (
    'a an the and or but of to in on at for with from by as is are was were be been am i im me my we ' +
    'you your it its this that these those there here do does did have has had will would can could ' +
    'shall should may might please thanks thank so if then just also too very s t d ll re ve m ok okay ' +
    'yes sure great what which who when where how'
  ).split(' '),
);

/** Lower-case word tokens, function words dropped (both the index and the query). */
export function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019']/g, '')
    .split(/[^a-z0-9]+/)
    .filter((w) => w && !STOPWORDS.has(w));
}

const firstValues = (s: DialogueState | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(s ?? {})
      .filter(([, v]) => v[0] !== undefined)
      .map(([k, v]) => [k, v[0]!]),
  );

/** The gold update of a user turn: slots whose (first) value is new or different. */
export function stateUpdate(
  previous: Record<string, string>,
  now: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(now).filter(([slot, v]) => previous[slot] !== v));
}

interface Doc {
  dialogueId: string;
  turn: number;
  system: string;
  user: string;
  update: Record<string, string>;
  state: Record<string, string>;
  domains: string[];
  length: number;
}

export interface BuildRetrieverOptions {
  /** The split `dialogues` come from: must be `train`. */
  split: Split | undefined;
  /** Dialogue ids never indexed (the release's dev and test lists). */
  excludeIds?: Iterable<string>;
  /**
   * Index only turns whose every updated value is said in the user turn or the system turn
   * before it (`isMentioned`). Default true: MultiWOZ updates often carry values from earlier
   * turns, and a small model copies such a value from the example into its own answer
   * (measured on dev: "Friday" labelled with the example's 3 people and 3 nights).
   */
  mentionedOnly?: boolean;
}

/** True when every value of the update is said in the user turn or the system turn before it. */
function updateIsSaid(update: Record<string, string>, user: string, system: string): boolean {
  const texts = [prepare(user), prepare(system)];
  return Object.entries(update).every(([slot, value]) => mentionedAny(texts, slot, value));
}

/** A BM25 index over the user turns (with the system turn before each) of training dialogues. */
export function buildTurnRetriever(
  dialogues: readonly Dialogue[],
  opts: BuildRetrieverOptions,
): TurnRetriever {
  if (opts.split !== SPLIT.TRAIN)
    throw new Error(
      `the labeller's examples come from the training split only, not ${opts.split ?? 'an unknown split'}`,
    );
  const excluded = new Set(opts.excludeIds ?? []);
  const docs: Doc[] = [];
  const postings = new Map<string, { docs: number[]; tf: number[] }>();
  const ids = new Set<string>();
  const spellings = createSpellings();
  for (const d of dialogues) {
    if (excluded.has(d.id)) continue;
    ids.add(d.id);
    let previous: Record<string, string> = {};
    let system = '';
    let turn = 0;
    for (const t of d.turns) {
      if (t.speaker !== 'USER') {
        system = t.utterance;
        continue;
      }
      for (const [slot, values] of Object.entries(t.state ?? {}))
        for (const v of values) spellings.add(slot, v);
      const now = firstValues(t.state);
      const update = stateUpdate(previous, now);
      previous = now;
      if ((opts.mentionedOnly ?? true) && !updateIsSaid(update, t.utterance, system)) {
        turn++;
        continue;
      }
      const words = [...tokens(t.utterance), ...tokens(system)];
      const index = docs.length;
      docs.push({
        dialogueId: d.id,
        turn: turn++,
        system,
        user: t.utterance,
        update,
        state: now,
        domains: [...new Set(Object.keys(update).map(slotDomain))],
        length: words.length,
      });
      const counts = new Map<string, number>();
      for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
      for (const [w, n] of counts) {
        let p = postings.get(w);
        if (!p) postings.set(w, (p = { docs: [], tf: [] }));
        p.docs.push(index);
        p.tf.push(n);
      }
    }
  }
  const n = docs.length;
  const avgLength = n ? docs.reduce((s, d) => s + d.length, 0) / n : 1;
  const idf = (df: number) => Math.log(1 + (n - df + 0.5) / (df + 0.5));
  const norm = Float64Array.from(docs, (d) => K1 * (1 - B + (B * d.length) / (avgLength || 1)));
  const scores = new Float64Array(n);
  const byUpdate = new Map<string, UpdateTurn[]>();
  for (const d of docs) {
    const key = slotsKey(Object.keys(d.update));
    let list = byUpdate.get(key);
    if (!list) byUpdate.set(key, (list = []));
    list.push({ dialogueId: d.dialogueId, user: d.user, update: d.update, state: d.state });
  }

  return {
    split: SPLIT.TRAIN,
    size: n,
    hasDialogue: (id) => ids.has(id),
    spelling: (slot, value) => spellings.spelling(slot, value),
    sameUpdate: (slots) => byUpdate.get(slotsKey(slots)) ?? [],
    search(query, k) {
      if (k <= 0 || n === 0) return [];
      const weights = new Map<string, number>();
      for (const w of tokens(query.user)) weights.set(w, (weights.get(w) ?? 0) + 1);
      for (const w of tokens(query.system)) weights.set(w, (weights.get(w) ?? 0) + SYSTEM_WEIGHT);
      const touched: number[] = [];
      for (const [w, qw] of weights) {
        const p = postings.get(w);
        if (!p) continue;
        const weight = qw * idf(p.docs.length);
        for (let i = 0; i < p.docs.length; i++) {
          const doc = p.docs[i]!;
          const tf = p.tf[i]!;
          if (scores[doc] === 0) touched.push(doc);
          scores[doc]! += (weight * tf * (K1 + 1)) / (tf + norm[doc]!);
        }
      }
      // Ties broken by index, so results are deterministic.
      touched.sort((a, b) => scores[b]! - scores[a]! || a - b);
      const allowed = query.domains ? new Set(query.domains) : undefined;
      const out: RetrievedTurn[] = [];
      const seen = new Set<string>();
      for (const i of touched) {
        if (out.length >= k) break;
        const d = docs[i]!;
        if (d.dialogueId === query.excludeDialogue || seen.has(d.dialogueId)) continue;
        if (allowed && d.domains.some((x) => !allowed.has(x))) continue;
        seen.add(d.dialogueId);
        out.push({
          dialogueId: d.dialogueId,
          turn: d.turn,
          system: d.system,
          user: d.user,
          update: { ...d.update },
          score: scores[i]!,
        });
      }
      for (const i of touched) scores[i] = 0;
      return out;
    },
  };
}

/** Ids in the release's dev and test lists (`valListFile`, `testListFile`) next to `source`'s data. */
export async function heldOutIds(dir = path.join(multiwozDir(), '2.1')): Promise<Set<string>> {
  const out = new Set<string>();
  for (const name of ['valListFile', 'testListFile']) {
    const file = path.join(dir, name);
    if (existsSync(file)) for (const id of await loadSplitList(file)) out.add(id);
  }
  return out;
}

/**
 * The retriever over the training split of `source` (a file or folder `loadDataset` reads; the
 * offline 2.1 train split by default), without any dialogue of the dev and test lists.
 */
export async function loadTurnRetriever(
  source = path.join(multiwozDir(), '2.1/train-dev-test.star-tsv.zip'),
): Promise<TurnRetriever> {
  const dialogues = await loadDataset({ source, split: SPLIT.TRAIN });
  return buildTurnRetriever(dialogues, { split: SPLIT.TRAIN, excludeIds: await heldOutIds() });
}
