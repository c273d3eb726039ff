/**
 * Checks of a pipeline config that need the file system, run by `run --config` (dry run too)
 * before anything starts: a config whose base model is missing or corrupt would otherwise pass
 * validation, start the pipeline, import, generate for minutes and only fail at its first
 * training step.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import catalog from '../models/catalog.json';
import type { PipelineConfig } from '../pipeline/config';

/** The bad file of a config, as one line naming the setting, the file and what to do. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

/** A path `loadPipelineConfig` resolved as local (absolute after it); hub names stay relative. */
const isLocal = (init: string) => path.isAbsolute(init);

function sha256(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * The hash a GGUF must have: its set-up stamp `<file>.sha256` (written by models/assemble.py
 * once the assembled file matched the catalog), else the catalog entry of the same file name.
 */
function expectedGguf(file: string): { sha256: string; bytes?: number; from: string } | undefined {
  const stamp = `${file}.sha256`;
  const entry = Object.values(catalog).find((e) => e.file === path.basename(file));
  if (existsSync(stamp))
    return { sha256: readFileSync(stamp, 'utf8').trim().toLowerCase(), bytes: entry?.bytes, from: stamp };
  if (entry) return { sha256: entry.sha256, bytes: entry.bytes, from: 'models/catalog.json' };
  return undefined;
}

/** Throws `ConfigFileError` when `training.init` names a local model that is missing or corrupt. */
export function checkConfigFiles(config: PipelineConfig): void {
  const init = config.training.tiny ? undefined : config.training.init;
  if (!init || !isLocal(init)) return;
  if (!existsSync(init))
    throw new ConfigFileError(
      `training.init: ${init} does not exist (a local model folder or .gguf file; relative paths are relative to the config file)`,
    );
  if (!init.toLowerCase().endsWith('.gguf')) return;
  const st = statSync(init);
  if (!st.isFile()) throw new ConfigFileError(`training.init: ${init} is not a file`);
  const magic = Buffer.alloc(4);
  const fd = openSync(init, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (magic.toString('latin1') !== 'GGUF')
    throw new ConfigFileError(`training.init: ${init} is not a GGUF file (it does not start with "GGUF")`);
  const want = expectedGguf(init);
  if (!want) return;
  const redo =
    'a partial or corrupt copy: run the set-up again (make setup) or point training.init at a good copy';
  // The size first: a truncated copy is told apart without reading the file.
  if (want.bytes !== undefined && st.size !== want.bytes)
    throw new ConfigFileError(
      `training.init: ${init} has ${st.size} bytes, not the ${want.bytes} of its sha256 in ${want.from}: ${redo}`,
    );
  const got = sha256(init);
  if (got !== want.sha256)
    throw new ConfigFileError(
      `training.init: ${init} has sha256 ${got}, not the ${want.sha256} of ${want.from}: ${redo}`,
    );
}
