/** `training.init` in a config file: local models resolve against the config's folder. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPipelineConfig } from '../../client/pipeline';

const REPO = path.resolve(__dirname, '../..');

function configWith(init: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'init-'));
  const raw = JSON.parse(readFileSync(path.join(REPO, 'examples/tiny-cpu.json'), 'utf8')) as {
    training: { init?: string; tiny?: boolean };
  };
  raw.training = { ...raw.training, init, tiny: false };
  const file = path.join(dir, 'c.json');
  writeFileSync(file, JSON.stringify(raw));
  return file;
}

test('examples/tiny-cpu.json trains SmolLM2 from the GGUF the set-up installs', () => {
  const c = loadPipelineConfig(path.join(REPO, 'examples/tiny-cpu.json'));
  expect(c.training.tiny).toBe(false);
  expect(c.training.init).toBe(path.join(REPO, '.venv/models/smollm2-135m-instruct-q4_1.gguf'));
  expect(c.training.hyper).toMatchObject({ prompt: 'short', target: 'update' });
});

test('examples/smollm2-cpu.json: the 30-minute CPU baseline of trainer/README.md', () => {
  const c = loadPipelineConfig(path.join(REPO, 'examples/smollm2-cpu.json'));
  expect(c.training.init).toBe(path.join(REPO, '.venv/models/smollm2-135m-instruct-q4_1.gguf'));
  expect(c.training.hyper).toMatchObject({ prompt: 'short', target: 'update', 'time-budget': '30m' });
  expect(c.data.real).toEqual({ dataset: 'multiwoz21', split: 'dev' });
});

test('relative paths and .gguf files resolve against the config folder; hub names stay', () => {
  const rel = configWith('../models/m.gguf');
  expect(loadPipelineConfig(rel).training.init).toBe(path.resolve(path.dirname(rel), '../models/m.gguf'));
  const dot = configWith('./stage1');
  expect(loadPipelineConfig(dot).training.init).toBe(path.join(path.dirname(dot), 'stage1'));
  expect(loadPipelineConfig(configWith('/abs/m.gguf')).training.init).toBe('/abs/m.gguf');
  expect(loadPipelineConfig(configWith('meta-llama/Llama-2-7b-hf')).training.init).toBe(
    'meta-llama/Llama-2-7b-hf',
  );
});
