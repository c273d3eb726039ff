import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import AdmZip from 'adm-zip';
import { createDownloadProgressBar } from '../../multiwoz/download-progress';
import {
  DownloadError,
  RELEASES,
  downloadFile,
  downloadRelease,
  type ByteProgress,
} from '../../multiwoz/download';
import { loadDataset } from '../../multiwoz/loaders';

interface Hit {
  url: string;
  range?: string;
  status: number;
  /** Body bytes the server sent. */
  sent: number;
}

/** Static file server on 127.0.0.1 with `Range: bytes=N-` support and a request log. */
function startServer() {
  const files = new Map<string, Buffer>();
  const hits: Hit[] = [];
  const opts = { ignoreRange: false, cutAfter: 0 };
  const server = http.createServer((req, res) => {
    const body = files.get(req.url ?? '');
    const hit: Hit = { url: req.url ?? '', range: req.headers.range, status: 404, sent: 0 };
    hits.push(hit);
    if (!body) return void res.writeHead(404).end();
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (m && !opts.ignoreRange) {
      start = Number(m[1]);
      if (start >= body.length)
        return void res.writeHead((hit.status = 416), { 'Content-Range': `bytes */${body.length}` }).end();
      res.writeHead((hit.status = 206), {
        'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'Content-Length': body.length - start,
      });
    } else {
      res.writeHead((hit.status = 200), { 'Content-Length': body.length });
    }
    const rest = body.subarray(start);
    if (opts.cutAfter) {
      // Simulate a dropped connection: send some bytes, then kill the socket.
      hit.sent = opts.cutAfter;
      res.write(rest.subarray(0, opts.cutAfter), () => res.destroy());
      return;
    }
    hit.sent = rest.length;
    res.end(rest);
  });
  return new Promise<{
    base: string;
    files: typeof files;
    hits: Hit[];
    opts: typeof opts;
    close: () => Promise<void>;
  }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        base: `http://127.0.0.1:${port}`,
        files,
        hits,
        opts,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let srv: Awaited<ReturnType<typeof startServer>>;
let dir: string;
const payload = randomBytes(300_000);

beforeAll(async () => {
  srv = await startServer();
  srv.files.set('/data.bin', payload);
});
afterAll(() => srv.close());
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mwz-dl-'));
  srv.hits.length = 0;
  srv.opts.ignoreRange = false;
  srv.opts.cutAfter = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('downloadFile', () => {
  test('full download with progress and hash', async () => {
    const dest = path.join(dir, 'sub/data.bin');
    const progress: ByteProgress[] = [];
    const r = await downloadFile({
      url: `${srv.base}/data.bin`,
      dest,
      expectedSize: payload.length,
      onProgress: (p) => progress.push(p),
    });
    expect(r).toEqual({
      path: dest,
      size: payload.length,
      sha256: sha(payload),
      downloaded: true,
      resumedFrom: 0,
    });
    expect(readFileSync(dest).equals(payload)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(progress.at(-1)).toEqual({ done: payload.length, total: payload.length });
    expect(srv.hits).toEqual([{ url: '/data.bin', range: undefined, status: 200, sent: payload.length }]);
  });

  test('resumes a partial .part file with a Range request', async () => {
    const dest = path.join(dir, 'data.bin');
    writeFileSync(`${dest}.part`, payload.subarray(0, 100_000));
    const progress: ByteProgress[] = [];
    const r = await downloadFile({
      url: `${srv.base}/data.bin`,
      dest,
      sha256: sha(payload),
      onProgress: (p) => progress.push(p),
    });
    expect(srv.hits).toEqual([{ url: '/data.bin', range: 'bytes=100000-', status: 206, sent: 200_000 }]);
    expect(r).toMatchObject({ downloaded: true, resumedFrom: 100_000, sha256: sha(payload) });
    expect(readFileSync(dest).equals(payload)).toBe(true);
    expect(progress[0]).toEqual({ done: 100_000, total: payload.length });
  });

  test('a dropped connection keeps the .part file; the next run resumes', async () => {
    const dest = path.join(dir, 'data.bin');
    srv.opts.cutAfter = 120_000;
    const err = (await downloadFile({ url: `${srv.base}/data.bin`, dest }).catch(
      (e: unknown) => e,
    )) as DownloadError;
    expect(err.kind).toBe('interrupted');
    expect(err.message).toMatch(/interrupted after \d+ bytes .*run again to resume/);
    const kept = readFileSync(`${dest}.part`).length;
    expect(kept).toBeGreaterThan(0);
    srv.opts.cutAfter = 0;
    const r = await downloadFile({ url: `${srv.base}/data.bin`, dest, sha256: sha(payload) });
    expect(r.resumedFrom).toBe(kept);
    expect(srv.hits.at(-1)).toMatchObject({ range: `bytes=${kept}-`, sent: payload.length - kept });
    expect(readFileSync(dest).equals(payload)).toBe(true);
  });

  test('starts over when the server ignores Range', async () => {
    srv.opts.ignoreRange = true;
    const dest = path.join(dir, 'data.bin');
    writeFileSync(`${dest}.part`, Buffer.from('stale bytes'));
    const r = await downloadFile({ url: `${srv.base}/data.bin`, dest });
    expect(r).toMatchObject({ resumedFrom: 0, sha256: sha(payload) });
    expect(readFileSync(dest).equals(payload)).toBe(true);
    expect(srv.hits).toHaveLength(1);
  });

  test('keeps a file that already matches, without a request', async () => {
    const dest = path.join(dir, 'data.bin');
    writeFileSync(dest, payload);
    const r = await downloadFile({ url: `${srv.base}/data.bin`, dest, sha256: sha(payload) });
    expect(r.downloaded).toBe(false);
    expect(srv.hits).toHaveLength(0);
  });

  test('hash mismatch deletes the partial file and says so', async () => {
    const dest = path.join(dir, 'data.bin');
    const err = (await downloadFile({ url: `${srv.base}/data.bin`, dest, sha256: 'ab'.repeat(32) }).catch(
      (e: unknown) => e,
    )) as DownloadError;
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.kind).toBe('checksum');
    expect(err.message).toMatch(
      new RegExp(
        `sha256 ${sha(payload)} does not match the expected ${'ab'.repeat(32)}; the partial file was deleted`,
      ),
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  test('size mismatch against the announced length', async () => {
    const err = (await downloadFile({
      url: `${srv.base}/data.bin`,
      dest: path.join(dir, 'x'),
      expectedSize: 5,
    }).catch((e: unknown) => e)) as DownloadError;
    expect(err.kind).toBe('size');
    expect(err.message).toMatch(/server announces 300000 bytes, expected 5/);
  });

  test('HTTP errors name the status and URL', async () => {
    await expect(
      downloadFile({ url: `${srv.base}/missing.json`, dest: path.join(dir, 'm') }),
    ).rejects.toThrow(`HTTP 404 Not Found for ${srv.base}/missing.json`);
  });

  test('unreachable host: clear offline message', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = (await downloadFile({
      url: `http://127.0.0.1:${port}/x.zip`,
      dest: path.join(dir, 'x.zip'),
      manualHint: 'X',
    }).catch((e: unknown) => e)) as DownloadError;
    expect(err.kind).toBe('offline');
    expect(err.message).toBe(
      `cannot reach 127.0.0.1:${port}: ECONNREFUSED — you seem to be offline; download X manually and pass --source <dir>`,
    );
  });
});

describe('downloadRelease', () => {
  test('MultiWOZ 2.2 from a mirror: files, manifest, verified re-run, loadable', async () => {
    const fixtures = path.resolve(__dirname, '../fixtures/multiwoz22');
    for (const f of RELEASES.multiwoz22.files) {
      const local = path.join(fixtures, f.path);
      srv.files.set(`/mirror/${f.path}`, existsSync(local) ? readFileSync(local) : Buffer.from('[]'));
    }
    const seen = new Set<string>();
    const r = await downloadRelease({
      release: 'multiwoz22',
      destDir: dir,
      baseUrl: `${srv.base}/mirror`,
      onProgress: (p) => seen.add(`${p.index}/${p.count} ${p.file}`),
    });
    expect(r.files).toHaveLength(23);
    expect(seen).toContain('22/23 test/dialogues_002.json');
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      release: string;
      files: Record<string, { sha256: string; url: string }>;
    };
    expect(manifest.release).toBe('multiwoz22');
    expect(manifest.files['test/dialogues_001.json']).toMatchObject({
      url: `${srv.base}/mirror/test/dialogues_001.json`,
      sha256: sha(readFileSync(path.join(fixtures, 'test/dialogues_001.json'))),
    });
    expect(srv.hits).toHaveLength(23);

    // Second run: everything verifies against manifest.json, nothing is fetched.
    srv.hits.length = 0;
    const again = await downloadRelease({
      release: 'multiwoz22',
      destDir: dir,
      baseUrl: `${srv.base}/mirror/`,
    });
    expect(again.files.every((f) => !f.downloaded)).toBe(true);
    expect(srv.hits).toHaveLength(0);

    // A damaged file is fetched again, and only that one.
    writeFileSync(path.join(dir, 'schema.json'), 'damaged');
    await downloadRelease({ release: 'multiwoz22', destDir: dir, baseUrl: `${srv.base}/mirror` });
    expect(srv.hits.map((h) => h.url)).toEqual(['/mirror/schema.json']);

    const test = await loadDataset({ dataset: 'multiwoz22', source: dir, split: 'test' });
    expect(test.map((d) => d.id)).toEqual(['FIX0001', 'FIX0002']);
  });

  test('MultiWOZ 2.4 zip from a mirror is loadable as downloaded', async () => {
    const zip = new AdmZip();
    const log = [
      { text: 'hi', metadata: {} },
      { text: 'ok', metadata: { hotel: { semi: { area: 'east' }, book: { booked: [] } } } },
    ];
    zip.addFile(
      'MULTIWOZ2.4/data.json',
      Buffer.from(JSON.stringify({ 'A1.json': { log }, 'B2.json': { log }, 'C3.json': { log } })),
    );
    zip.addFile('MULTIWOZ2.4/testListFile.json', Buffer.from('B2.json\n'));
    zip.addFile('MULTIWOZ2.4/valListFile.json', Buffer.from('C3.json\n'));
    srv.files.set('/24/MULTIWOZ2.4.zip', zip.toBuffer());
    const r = await downloadRelease({ release: 'multiwoz24', destDir: dir, baseUrl: `${srv.base}/24` });
    expect(r.files.map((f) => path.basename(f.path))).toEqual(['MULTIWOZ2.4.zip']);
    const test = await loadDataset({ dataset: 'multiwoz24', source: dir, split: 'test' });
    expect(test.map((d) => [d.id, d.turns[0]!.state])).toEqual([['B2', { 'hotel-area': ['east'] }]]);
  });

  test('offline message names the release and where to get it', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(
      downloadRelease({ release: 'multiwoz24', destDir: dir, baseUrl: `http://127.0.0.1:${port}/` }),
    ).rejects.toThrow(
      /cannot reach 127\.0\.0\.1:\d+: ECONNREFUSED — you seem to be offline; download MultiWOZ 2\.4 from https:\/\/github\.com\/smartyfh\/MultiWOZ2\.4.* manually and pass --source <dir>/,
    );
  });
});

test('progress bar adapter draws file, sizes and finishes', () => {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString()));
  const bar = createDownloadProgressBar({ stream, noTTYOutput: true });
  bar.onProgress({ file: 'train/dialogues_001.json', index: 0, count: 2, done: 0, total: 2_000_000 });
  bar.onProgress({ file: 'train/dialogues_001.json', index: 0, count: 2, done: 2_000_000, total: 2_000_000 });
  bar.onProgress({ file: 'MULTIWOZ2.4.zip', index: 1, count: 2, done: 500_000 });
  bar.stop();
  expect(out).toContain('[1/2] train/dialogues_001.json');
  expect(out).toContain('2.0/2.0 MB');
  expect(out).toContain('[2/2] MULTIWOZ2.4.zip');
  expect(out).toContain('0.5 MB');
});
