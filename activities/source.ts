import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** True for http(s) sources, which are downloaded before import. */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * Short content hash of a file, or of every file under a folder (sorted by path), so the
 * same data imported twice gets the same version and a changed file a new one.
 */
export async function contentVersion(source: string): Promise<string> {
  if (!existsSync(source)) throw new Error(`dataset source not found: ${source}`);
  const hash = createHash('sha256');
  for (const file of listFiles(source)) {
    hash.update(path.relative(source, file) + '\0');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex').slice(0, 16);
}

function listFiles(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) =>
      e.isDirectory() ? listFiles(path.join(p, e.name)) : e.isFile() ? [path.join(p, e.name)] : [],
    );
}
