import path from 'node:path';
import { PipelineConfigSchema, type PipelineConfig } from '../../pipeline/config';
import { multiwozDir } from '../../multiwoz/paths';

/** A pipeline small enough for CI: 6 goals, 40 real dialogues, tiny CPU model. */
export function tinyConfig(extra: PipelineConfig['training']['hyper'] = {}, goals = 6): PipelineConfig {
  const mw = multiwozDir();
  return PipelineConfigSchema.parse({
    name: 'test-pipeline',
    seed: 2,
    import: [
      { dataset: 'multiwoz21', source: path.join(mw, '2.1/val.json.zip'), split: 'dev' },
      { dataset: 'multiwoz21', source: path.join(mw, '2.1/test.json.zip'), split: 'test' },
    ],
    generation: {
      goals,
      llm: { provider: 'openai', model: 'test-model' },
      paraphrases: 0,
      concurrency: 3,
      batchSize: 3,
      heartbeatTimeoutSeconds: 10,
    },
    data: {
      real: { dataset: 'multiwoz21', split: 'dev' },
      test: { dataset: 'multiwoz21', split: 'test' },
      realLimit: 40,
      testLimit: 6,
    },
    training: {
      tiny: true,
      hyper: { 'max-steps': 6, 'save-steps': 2, 'batch-size': 4, 'max-length': 256, lr: 0.003, ...extra },
      predict: { 'batch-size': 16, 'max-new-tokens': 32 },
      // Also the stall timeout: the trainer is silent while it starts (12 s measured on a busy 2-core machine).
      heartbeatTimeoutSeconds: 45,
    },
  });
}
