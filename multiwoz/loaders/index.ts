/**
 * `loadDataset`: one entry point for every MultiWOZ layout dst-synth reads. The layout is
 * detected from file names and content:
 *
 * - `data.json` (+ `testListFile`/`valListFile`, any of `.json`/`.txt`/no suffix): the
 *   official 2.1/2.4 release, loose or inside `MULTIWOZ2.4.zip`; a split selects by list.
 * - `{train,val,test}.json` (loose or zipped, e.g. `test.json.zip`): ConvLab split files.
 * - `{train,dev,test}/dialogues_NNN.json`: the 2.2 release (or one such file).
 * - `{train,dev,test}.tsv`: DST-STAR rows (e.g. `train-dev-test.star-tsv.zip`).
 * - `*.icdst.json`: IC-DST per-turn records.
 *
 * A folder may hold several of these; the first that has the requested split wins, in the
 * order above (original data before derived copies).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DATASET, SPLIT, type Dialogue, type Split } from '../types';
import { DataFormatError, parseJson, splitFromName } from './common';
import { parseDataJson, parseSplitList } from './data-json';
import { parseIcdst } from './icdst';
import { parseMultiwoz22 } from './multiwoz22';
import { baseName, diskFile, zipFiles, type SourceFile } from './source';
import { parseStarTsv } from './star-tsv';

export { DataFormatError } from './common';
export { loadSplitList, parseSplitList } from './data-json';
export { unrecodeStarValue } from './star-tsv';

export type Layout = 'data-json' | 'multiwoz22' | 'star-tsv' | 'icdst';
export type MultiwozDataset =
  typeof DATASET.MULTIWOZ21 | typeof DATASET.MULTIWOZ22 | typeof DATASET.MULTIWOZ24;

export interface LoadDatasetOptions {
  /**
   * Release the source holds. Checked against the layout: the 2.2 layout is `multiwoz22`
   * only. Default: whatever the layout is (no check).
   */
  dataset?: MultiwozDataset;
  /** A folder, or one file: `.json`, `.tsv` or `.zip`. */
  source: string;
  /** Split to load. Default: every dialogue the source holds (train, dev, test order). */
  split?: Split;
}

const ALL_SPLITS: readonly Split[] = [SPLIT.TRAIN, SPLIT.DEV, SPLIT.TEST];
const LIST_FILE = /^(test|val)ListFile(?:\.json|\.txt)?$/;

interface Candidate {
  layout: Layout;
  /** Per split, a function that parses it. */
  splits: Partial<Record<Split, () => Dialogue[]>>;
  /** Everything in file order, when that differs from concatenating the splits. */
  all?: () => Dialogue[];
}

/** A detected layout and a parser to run once the dataset name has been checked. */
interface Plan {
  layout: Layout;
  load: () => Dialogue[];
}

function json(f: SourceFile): unknown {
  return parseJson(f.read(), f.label);
}

function sniff(data: unknown, file: string): Layout {
  if (Array.isArray(data)) {
    const first: unknown = data[0];
    if (first && typeof first === 'object') {
      if ('dialogue_id' in first && 'turns' in first) return 'multiwoz22';
      if ('ID' in first && 'turn_id' in first) return 'icdst';
    }
  } else if (data && typeof data === 'object') {
    const first: unknown = Object.values(data)[0];
    if (first && typeof first === 'object' && 'log' in first) return 'data-json';
  }
  throw new DataFormatError(
    file,
    'top level',
    'unknown layout (expected a data.json object of {goal, log}, a 2.2 dialogues array or IC-DST turn records)',
  );
}

function parseAs(layout: Layout, data: unknown, file: string, ids?: ReadonlySet<string>): Dialogue[] {
  if (layout === 'data-json') return parseDataJson(data, file, ids);
  if (layout === 'multiwoz22') return parseMultiwoz22(data, file);
  return parseIcdst(data, file);
}

/** data.json + its list files: train is everything listed in neither list. */
function dataJsonCandidate(label: string, load: () => unknown, lists: SourceFile[]): Candidate {
  let parsed: unknown;
  const all = () => (parsed ??= load());
  const listed = (kind: 'test' | 'val') => {
    const f = lists.find((l) => baseName(l).startsWith(kind));
    return f ? new Set(parseSplitList(f.read())) : undefined;
  };
  const test = listed('test');
  const dev = listed('val');
  const splits: Candidate['splits'] = {};
  const whole = () => parseDataJson(all(), label);
  if (test && dev) {
    splits.test = () => parseDataJson(all(), label, test);
    splits.dev = () => parseDataJson(all(), label, dev);
    splits.train = () => {
      const held = new Set([...test, ...dev]);
      const ids = Object.keys(all() as object)
        .map((k) => k.replace(/\.json$/, ''))
        .filter((id) => !held.has(id));
      return parseDataJson(all(), label, new Set(ids));
    };
  }
  return { layout: 'data-json', splits, all: whole };
}

function bySplit(
  files: SourceFile[],
  pattern: RegExp,
  parse: (f: SourceFile[]) => Dialogue[],
  layout: Layout,
): Candidate | undefined {
  const groups = new Map<Split, SourceFile[]>();
  for (const f of files) {
    const m = pattern.exec(f.name.replace(/\\/g, '/'));
    const split = m?.[1] && splitFromName(m[1]);
    if (split) groups.set(split, [...(groups.get(split) ?? []), f]);
  }
  if (!groups.size) return undefined;
  const splits: Candidate['splits'] = {};
  for (const [split, group] of groups)
    splits[split] = () => parse(group.sort((a, b) => a.name.localeCompare(b.name)));
  return { layout, splits };
}

/**
 * 2.2 files outside a split folder (`writeExport`'s `generated/`): loadable whole, never as
 * a split, since nothing says which split they are.
 */
function unsplit22(files: SourceFile[], parse: (g: SourceFile[]) => Dialogue[]): Candidate | undefined {
  const group = files
    .filter((f) => /(?:^|\/)dialogues_\d+\.json$/.test(f.name.replace(/\\/g, '/')))
    .sort((a, b) => a.name.localeCompare(b.name));
  return group.length ? { layout: 'multiwoz22', splits: {}, all: () => parse(group) } : undefined;
}

/** Candidate layouts found among `files`, most authoritative first. */
function candidates(files: SourceFile[]): Candidate[] {
  const out: Candidate[] = [];
  const data = files.find((f) => baseName(f) === 'data.json');
  if (data) {
    const dir = path.posix.dirname(data.name);
    out.push(
      dataJsonCandidate(
        data.label,
        () => json(data),
        files.filter((f) => LIST_FILE.test(baseName(f)) && path.posix.dirname(f.name) === dir),
      ),
    );
  }
  const parse22 = (g: SourceFile[]) => g.flatMap((f) => parseMultiwoz22(json(f), f.label));
  const c22 =
    bySplit(files, /(?:^|\/)(train|dev|test)\/dialogues_\d+\.json$/, parse22, 'multiwoz22') ??
    unsplit22(files, parse22);
  // One file per split: a loose copy and a zipped one would load the same dialogues twice.
  const first = (g: SourceFile[]) => g.slice(0, 1);
  const cSplit = bySplit(
    files,
    /(?:^|\/)(train|val|test)\.json$/,
    (g) => first(g).flatMap((f) => parseDataJson(json(f), f.label)),
    'data-json',
  );
  const cStar = bySplit(
    files,
    /(?:^|\/)(train|dev|test)\.tsv$/,
    (g) => first(g).flatMap((f) => parseStarTsv(f.read(), f.label)),
    'star-tsv',
  );
  const cIcdst = bySplit(
    files,
    /(?:^|\/)([^/]*)\.icdst\.json$/,
    (g) => g.flatMap((f) => parseIcdst(json(f), f.label)),
    'icdst',
  );
  for (const c of [c22, cSplit, cStar, cIcdst]) if (c) out.push(c);
  return out;
}

/** Files under a folder (3 levels deep), zips expanded into their entries. */
function walk(dir: string, rel = '', depth = 0): SourceFile[] {
  const out: SourceFile[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    if (name.startsWith('.') || name === 'node_modules' || name.endsWith('.part')) continue;
    const relPath = rel ? `${rel}/${name}` : name;
    const abs = path.join(dir, relPath);
    if (statSync(abs).isDirectory()) {
      if (depth < 3) out.push(...walk(dir, relPath, depth + 1));
    } else if (name.endsWith('.zip')) {
      out.push(...zipFiles(abs).map((f) => ({ ...f, name: `${relPath}!/${f.name}` })));
    } else {
      out.push({ ...diskFile(abs), name: relPath });
    }
  }
  return out;
}

function fromFiles(files: SourceFile[], origin: string, split?: Split): Plan {
  const found = candidates(files);
  if (split) {
    const c = found.find((x) => x.splits[split]);
    const load = c?.splits[split];
    if (c && load) return { layout: c.layout, load };
    throw new Error(
      `${origin}: no ${split} split found (looked for data.json + testListFile/valListFile, {train,dev,test}/dialogues_NNN.json, {train,val,test}.json, {train,dev,test}.tsv, *.icdst.json)`,
    );
  }
  const c = found[0];
  if (!c)
    throw new Error(
      `${origin}: no MultiWOZ files found (data.json, dialogues_NNN.json, {train,val,test}.json, *.tsv, *.icdst.json)`,
    );
  return { layout: c.layout, load: c.all ?? (() => ALL_SPLITS.flatMap((s) => c.splits[s]?.() ?? [])) };
}

function checkSplitName(file: string, split?: Split): void {
  // The parent folder counts only when it is exactly a split name (2.2's `test/dialogues_001.json`).
  const parent = path.basename(path.dirname(file));
  const named =
    splitFromName(path.basename(file)) ??
    (/^(train|dev|val|test)$/.test(parent) ? splitFromName(parent) : undefined);
  if (split && named && named !== split) throw new Error(`${file} holds the ${named} split, not ${split}`);
}

function fromFile(file: string, split?: Split): Plan {
  if (file.endsWith('.zip')) return fromFiles(zipFiles(file), file, split);
  const f = diskFile(file);
  if (file.endsWith('.tsv')) {
    checkSplitName(file, split);
    return { layout: 'star-tsv', load: () => parseStarTsv(f.read(), file) };
  }
  const data = json(f);
  const layout = sniff(data, file);
  // A whole data.json (no split in its name) is split by the list files beside it.
  if (layout === 'data-json' && split && !splitFromName(path.basename(file))) {
    const dir = path.dirname(file);
    const lists = readdirSync(dir)
      .filter((n) => LIST_FILE.test(n))
      .map((n) => diskFile(path.join(dir, n)));
    const load = dataJsonCandidate(file, () => data, lists).splits[split];
    if (!load)
      throw new Error(
        `${file}: cannot select the ${split} split: testListFile and valListFile not found next to it`,
      );
    return { layout, load };
  }
  checkSplitName(file, split);
  return { layout, load: () => parseAs(layout, data, file) };
}

/**
 * Load one split (or everything) of a MultiWOZ source in any supported layout.
 * Values are kept as written in the data (metrics normalise); every domain is kept.
 * @throws DataFormatError naming the file and first bad record for malformed input.
 */
export async function loadDataset(opts: LoadDatasetOptions): Promise<Dialogue[]> {
  const { dataset, source, split } = opts;
  const stat = statSync(source, { throwIfNoEntry: false });
  if (!stat) throw new Error(`${source}: no such file or folder`);
  const { layout, load } = stat.isDirectory()
    ? fromFiles(walk(source), source, split)
    : fromFile(source, split);
  if (dataset && (layout === 'multiwoz22') !== (dataset === DATASET.MULTIWOZ22)) {
    throw new Error(`${source} holds the ${layout} layout, which is not a ${dataset} source`);
  }
  return load();
}
