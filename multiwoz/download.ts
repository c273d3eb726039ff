/**
 * Downloads the official MultiWOZ releases for users who are online. Files are fetched
 * into `<dest>.part` and renamed when complete, so an interrupted download resumes with
 * an HTTP Range request. Sizes and SHA-256 hashes are checked when known; the hash of
 * every downloaded file is recorded in `<destDir>/manifest.json` so later runs verify
 * the files instead of fetching them again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type DownloadErrorKind = 'offline' | 'http' | 'size' | 'checksum' | 'interrupted';

export class DownloadError extends Error {
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DownloadError';
  }
}

export interface ByteProgress {
  /** Bytes of the file on disk so far, including bytes resumed from a `.part` file. */
  done: number;
  /** Size of the whole file in bytes, when the server or manifest says. */
  total?: number;
}

export interface DownloadFileOptions {
  url: string;
  /** Final path; the download goes to `<dest>.part` first. */
  dest: string;
  /** Expected size in bytes. Checked against the server's announced size and the result. */
  expectedSize?: number;
  /** Expected SHA-256 of the whole file, lower-case hex. */
  sha256?: string;
  /** Called after every received chunk. */
  onProgress?: (p: ByteProgress) => void;
  /** What offline users should fetch by hand (default: `url`). */
  manualHint?: string;
  /** Aborts the request; the `.part` file is kept for a later resume. */
  signal?: AbortSignal;
}

export interface DownloadedFile {
  path: string;
  /** Bytes. */
  size: number;
  sha256: string;
  /** False when `dest` already existed and matched the expected hash/size. */
  downloaded: boolean;
  /** Bytes taken over from an earlier `.part` file (0 for a fresh download). */
  resumedFrom: number;
}

async function sizeOf(file: string): Promise<number | undefined> {
  return (await stat(file).catch(() => undefined))?.size;
}

async function hashFile(file: string, hash = createHash('sha256')) {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash;
}

// Errors that mean "the host cannot be reached at all" (DNS, routing, refused, timeout).
const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function networkCode(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 5;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

async function request(url: string, offset: number, hint: string, signal?: AbortSignal): Promise<Response> {
  try {
    return await fetch(url, {
      headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
      signal,
      redirect: 'follow',
    });
  } catch (err) {
    const code = networkCode(err);
    if (!code) throw err;
    const host = new URL(url).host;
    throw new DownloadError(
      'offline',
      `cannot reach ${host}: ${code} — you seem to be offline; download ${hint} manually and pass --source <dir>`,
      { cause: err },
    );
  }
}

/** Total size from `Content-Range: bytes a-b/total`, else offset + Content-Length. */
function announcedTotal(res: Response, offset: number): number | undefined {
  const range = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  if (range?.[1]) return Number(range[1]);
  const length = res.headers.get('content-length');
  return length === null ? undefined : offset + Number(length);
}

/** Open the response, resuming at `offset` when the server honours the Range. */
async function openResponse(opts: DownloadFileOptions, part: string, offset: number) {
  const hint = opts.manualHint ?? opts.url;
  let res = await request(opts.url, offset, hint, opts.signal);
  if (offset > 0) {
    const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
    const resumed = res.status === 206 && Number(start) === offset;
    if (!resumed) {
      await rm(part, { force: true });
      offset = 0;
      // 200: the server ignored the Range and sends the whole file; use that. 416 (part
      // stale or already complete) or an unexpected range: ask again from byte 0.
      if (res.status !== 200) {
        await res.body?.cancel();
        res = await request(opts.url, 0, hint, opts.signal);
      }
    }
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new DownloadError('http', `HTTP ${res.status} ${res.statusText} for ${opts.url}`);
  }
  return { res, offset };
}

/** Existing `dest` that matches the expectations, so nothing needs fetching. */
async function existingMatch(opts: DownloadFileOptions): Promise<DownloadedFile | undefined> {
  const size = await sizeOf(opts.dest);
  if (size === undefined || (!opts.sha256 && opts.expectedSize === undefined)) return undefined;
  if (opts.expectedSize !== undefined && size !== opts.expectedSize) return undefined;
  const sha256 = (await hashFile(opts.dest)).digest('hex');
  if (opts.sha256 && sha256 !== opts.sha256.toLowerCase()) return undefined;
  return { path: opts.dest, size, sha256, downloaded: false, resumedFrom: 0 };
}

/**
 * Download `url` to `dest`, resuming a leftover `<dest>.part`. A size or hash mismatch
 * deletes the partial file and throws; a dropped connection keeps it for the next run.
 * @throws DownloadError with `kind` offline | http | size | checksum | interrupted.
 */
export async function downloadFile(opts: DownloadFileOptions): Promise<DownloadedFile> {
  const done = await existingMatch(opts);
  if (done) return done;
  await mkdir(path.dirname(opts.dest), { recursive: true });
  const part = `${opts.dest}.part`;
  let offset = (await sizeOf(part)) ?? 0;
  if (opts.expectedSize !== undefined && offset > opts.expectedSize) {
    await rm(part, { force: true });
    offset = 0;
  }
  const opened = await openResponse(opts, part, offset);
  const { res } = opened;
  offset = opened.offset;
  const total = announcedTotal(res, offset) ?? opts.expectedSize;
  const fail = async (kind: DownloadErrorKind, message: string): Promise<never> => {
    await res.body?.cancel().catch(() => undefined);
    await rm(part, { force: true });
    throw new DownloadError(
      kind,
      `${message}; the partial file was deleted, run again to download it afresh`,
    );
  };
  if (opts.expectedSize !== undefined && total !== undefined && total !== opts.expectedSize) {
    await fail('size', `${opts.url}: server announces ${total} bytes, expected ${opts.expectedSize}`);
  }
  // The hash covers the whole file, so feed it the bytes kept from the earlier run first.
  const hash = offset > 0 ? await hashFile(part) : createHash('sha256');
  let bytes = offset;
  opts.onProgress?.({ done: bytes, total });
  const fh = await open(part, offset > 0 ? 'a' : 'w');
  try {
    for await (const chunk of res.body ?? []) {
      const buf = chunk as Uint8Array;
      hash.update(buf);
      await fh.write(buf);
      bytes += buf.byteLength;
      opts.onProgress?.({ done: bytes, total });
    }
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new DownloadError(
      'interrupted',
      `download of ${opts.url} interrupted after ${bytes} bytes (${(err as Error).message}); run again to resume`,
      { cause: err },
    );
  } finally {
    await fh.close();
  }
  if (total !== undefined && bytes < total) {
    throw new DownloadError(
      'interrupted',
      `download of ${opts.url} stopped at ${bytes} of ${total} bytes; run again to resume`,
    );
  }
  if (opts.expectedSize !== undefined && bytes !== opts.expectedSize) {
    await fail('size', `${opts.url}: got ${bytes} bytes, expected ${opts.expectedSize}`);
  }
  const sha256 = hash.digest('hex');
  if (opts.sha256 && sha256 !== opts.sha256.toLowerCase()) {
    await fail('checksum', `${opts.url}: sha256 ${sha256} does not match the expected ${opts.sha256}`);
  }
  await rename(part, opts.dest);
  return { path: opts.dest, size: bytes, sha256, downloaded: true, resumedFrom: offset };
}

export type Release = 'multiwoz22' | 'multiwoz24';

export interface ReleaseFile {
  /** Path relative to the release base URL, also used under `destDir`. */
  path: string;
  /** Bytes, when known. */
  size?: number;
  /** SHA-256 hex, when known. */
  sha256?: string;
}

export interface ReleaseManifest {
  title: string;
  /** Default base URL, ends with `/`. */
  baseUrl: string;
  /** Where users can fetch the files by hand. */
  page: string;
  files: ReleaseFile[];
}

const numbered = (dir: string, n: number): ReleaseFile[] =>
  Array.from({ length: n }, (_, i) => ({ path: `${dir}/dialogues_${String(i + 1).padStart(3, '0')}.json` }));

/**
 * Official release files. Sizes/hashes are not pinned (they could not be measured offline);
 * `manifest.json` records what was downloaded so later runs verify against that.
 */
export const RELEASES: Record<Release, ReleaseManifest> = {
  multiwoz22: {
    title: 'MultiWOZ 2.2',
    baseUrl: 'https://raw.githubusercontent.com/budzianowski/multiwoz/master/data/MultiWOZ_2.2/',
    page: 'https://github.com/budzianowski/multiwoz/tree/master/data/MultiWOZ_2.2',
    files: [
      { path: 'schema.json' },
      { path: 'dialog_acts.json' },
      ...numbered('train', 17),
      ...numbered('dev', 2),
      ...numbered('test', 2),
    ],
  },
  multiwoz24: {
    title: 'MultiWOZ 2.4',
    baseUrl: 'https://github.com/smartyfh/MultiWOZ2.4/raw/main/data/',
    page: 'https://github.com/smartyfh/MultiWOZ2.4/tree/main/data (MULTIWOZ2.4.zip)',
    files: [{ path: 'MULTIWOZ2.4.zip' }],
  },
};

export interface ReleaseProgress extends ByteProgress {
  /** Release-relative path of the file being fetched. */
  file: string;
  /** 0-based index of the file and number of files in the release. */
  index: number;
  count: number;
}

export interface DownloadReleaseOptions {
  release: Release;
  /** Folder that receives the files (created if missing) and `manifest.json`. */
  destDir: string;
  /** Replaces the release's base URL (mirrors, tests). */
  baseUrl?: string;
  onProgress?: (p: ReleaseProgress) => void;
  signal?: AbortSignal;
}

interface RecordedFile {
  url: string;
  size: number;
  sha256: string;
  downloadedAt: string;
}
interface ManifestJson {
  release: Release;
  files: Record<string, RecordedFile>;
}

async function readManifest(file: string, release: Release): Promise<ManifestJson> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (!text) return { release, files: {} };
  try {
    const parsed = JSON.parse(text) as ManifestJson;
    return parsed.release === release && parsed.files ? parsed : { release, files: {} };
  } catch {
    throw new Error(`${file} is not valid JSON; delete it to re-verify the downloads`);
  }
}

/**
 * Fetch every file of an official release into `destDir`, skipping files that already
 * match the recorded hash. Returns the files with their size and hash.
 */
export async function downloadRelease(
  opts: DownloadReleaseOptions,
): Promise<{ destDir: string; manifest: string; files: DownloadedFile[] }> {
  const spec = RELEASES[opts.release];
  const base = (opts.baseUrl ?? spec.baseUrl).replace(/\/?$/, '/');
  const manifestPath = path.join(opts.destDir, 'manifest.json');
  const manifest = await readManifest(manifestPath, opts.release);
  const files: DownloadedFile[] = [];
  for (const [index, file] of spec.files.entries()) {
    const recorded = manifest.files[file.path];
    const url = new URL(file.path, base).toString();
    const result = await downloadFile({
      url,
      dest: path.join(opts.destDir, ...file.path.split('/')),
      expectedSize: file.size ?? recorded?.size,
      sha256: file.sha256 ?? recorded?.sha256,
      manualHint: `${spec.title} from ${spec.page}`,
      signal: opts.signal,
      onProgress: (p) => opts.onProgress?.({ ...p, file: file.path, index, count: spec.files.length }),
    }).catch((err: unknown) => {
      if (err instanceof DownloadError && err.kind === 'checksum' && !file.sha256 && recorded) {
        throw new DownloadError(
          'checksum',
          `${err.message} (the expected hash is from ${manifestPath}; delete that entry if upstream changed the file)`,
        );
      }
      throw err;
    });
    files.push(result);
    if (result.downloaded || !recorded) {
      manifest.files[file.path] = {
        url,
        size: result.size,
        sha256: result.sha256,
        downloadedAt: new Date().toISOString(),
      };
      // Written after every file so an interrupted run still verifies what it finished.
      await writeFile(`${manifestPath}.tmp`, JSON.stringify(manifest, null, 2) + '\n');
      await rename(`${manifestPath}.tmp`, manifestPath);
    }
  }
  return { destDir: opts.destDir, manifest: manifestPath, files };
}
