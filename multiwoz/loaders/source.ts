import { readFileSync } from 'node:fs';
import path from 'node:path';
import AdmZip from 'adm-zip';

/** One readable file: on disk or inside a zip (`archive.zip!/inner/path`). */
export interface SourceFile {
  /** Name for messages: the path, or `zip!/entry`. */
  label: string;
  /** Path inside the zip (forward slashes), or the file's own path. */
  name: string;
  read(): string;
}

export function diskFile(file: string): SourceFile {
  return { label: file, name: file, read: () => readFileSync(file, 'utf8') };
}

/** Files of a zip, without folders and macOS resource-fork junk (`__MACOSX/`, `.DS_Store`). */
export function zipFiles(zipPath: string): SourceFile[] {
  let zip: AdmZip;
  try {
    zip = new AdmZip(zipPath);
  } catch (err) {
    throw new Error(`${zipPath}: not a readable zip archive (${(err as Error).message})`);
  }
  return zip
    .getEntries()
    .filter(
      (e) =>
        !e.isDirectory &&
        !e.entryName.startsWith('__MACOSX/') &&
        path.posix.basename(e.entryName) !== '.DS_Store',
    )
    .map((e) => ({
      label: `${zipPath}!/${e.entryName}`,
      name: e.entryName,
      read: () => e.getData().toString('utf8'),
    }));
}

/** Basename of a source file's inner name. */
export function baseName(f: SourceFile): string {
  return path.posix.basename(f.name.replace(/\\/g, '/'));
}
