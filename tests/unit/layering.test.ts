/**
 * The import graph of the TypeScript sources (README "Layout"): every import runs down the
 * layers below, never up, and no file imports itself back through others. Imports are read with
 * the TypeScript compiler's own pre-processor (`ts.preProcessFile`: import, export … from,
 * `import type` and dynamic `import()` alike), so a comment or a string is never mistaken for one.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '../..');

/**
 * Folders from the bottom up; a folder may import its own files and those of lower rows.
 * `models/` holds the local-model catalogue (JSON) that `llm/` reads.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['common', 'models'],
  ['multiwoz', 'llm'],
  ['metrics'],
  ['simulator'],
  ['pipeline'],
  ['db', 'training'],
  ['reporting', 'audit'],
  ['activities'],
  ['workflows'],
  ['infra'],
  ['worker'],
  ['client', 'bench'],
];
const rank = new Map(LAYERS.flatMap((row, i) => row.map((folder) => [folder, i] as const)));
/** The benchmarks reuse the tests' fixtures (the loopback LLM server, its scripted roles). */
const allowed = (file: string, target: string) =>
  folderOf(file) === 'bench' && rel(target).startsWith(`tests${path.sep}helpers${path.sep}`);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The repository file a relative specifier names (`./x` → `x.ts` or `x/index.ts`). */
function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [base, `${base}.ts`, path.join(base, 'index.ts')].find((p) => existsSync(p) && statSync(p).isFile());
}

const folderOf = (file: string) => path.relative(ROOT, file).split(path.sep)[0]!;
const rel = (file: string) => path.relative(ROOT, file);

const files = [...rank.keys()]
  .filter((d) => existsSync(path.join(ROOT, d)))
  .flatMap((d) => tsFiles(path.join(ROOT, d)));
/** file → the repository files it imports. */
const graph = new Map(
  files.map((file) => {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((s) => s.startsWith('.'))
      .map((s) => resolve(file, s))
      .filter((p): p is string => p !== undefined);
    return [file, targets];
  }),
);

test('the graph is read (a sanity check of the walker)', () => {
  expect(files.length).toBeGreaterThan(100);
  expect(graph.get(path.join(ROOT, 'activities/index.ts'))).toContain(path.join(ROOT, 'activities/train.ts'));
});

test('every source folder has a layer', () => {
  const top = readdirSync(ROOT).filter(
    (d) =>
      !d.startsWith('.') &&
      !['node_modules', 'data', 'tests', 'trainer', 'docker', 'examples', 'scripts'].includes(d) &&
      statSync(path.join(ROOT, d)).isDirectory() &&
      tsFiles(path.join(ROOT, d)).length > 0,
  );
  expect(top.filter((d) => !rank.has(d))).toEqual([]);
});

test('no import runs up the layers (nothing below activities imports activities, workflows or client)', () => {
  const upward: string[] = [];
  for (const [file, targets] of graph)
    for (const t of targets) {
      const from = rank.get(folderOf(file));
      const to = rank.get(folderOf(t));
      if (allowed(file, t)) continue;
      if (from === undefined || to === undefined || to > from) upward.push(`${rel(file)} → ${rel(t)}`);
    }
  expect(upward).toEqual([]);
});

test('no import cycle between files', () => {
  // Tarjan's strongly connected components: any component of more than one file is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(rel(w));
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  expect(cycles).toEqual([]);
});
