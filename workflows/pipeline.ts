/**
 * The pipeline DAG (DESIGN.md §5): import → generate → assemble → {baseline: real only} ∥
 * {stage 1: generated → stage 2: real} → predict + evaluate both → report. Each step is an
 * activity or a child workflow with a fixed id, so a restarted pipeline finds finished work
 * done (imports and generation skip what is in Postgres; training resumes from checkpoints).
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  executeChild,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createAssembleActivities } from '../activities/assemble';
import type { createEvaluateActivities } from '../activities/evaluate';
import type { EvaluationSummary } from '../activities/evaluate-types';
import type { createPipelineRunActivities } from '../activities/pipeline-run';
import type { PipelineConfig } from '../activities/pipeline-config';
import type { AssembledFile, FineTuneResult } from '../activities/pipeline-types';
import type { createReportActivities } from '../activities/report';
import type { createTrainActivities } from '../activities/train';
import { generationWorkflow } from './generate';
import { importDatasetWorkflow } from './import';
import { SA } from './search-attributes';
import { TASK_QUEUE, WORKFLOW_TASK_QUEUE } from './task-queues';

type DataActivities = ReturnType<typeof createAssembleActivities> &
  ReturnType<typeof createEvaluateActivities> &
  ReturnType<typeof createPipelineRunActivities> &
  ReturnType<typeof createReportActivities>;

const data = proxyActivities<DataActivities>({
  taskQueue: TASK_QUEUE.DATA,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '5 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['NoRealData', 'NoGoldData', 'InvalidPredictions', 'InvalidInput'],
  },
});

function gpuActivities(heartbeatSeconds: number) {
  return proxyActivities<ReturnType<typeof createTrainActivities>>({
    taskQueue: TASK_QUEUE.GPU,
    startToCloseTimeout: '7 days',
    heartbeatTimeout: `${heartbeatSeconds} seconds`,
    // Cancelling the pipeline must reach the trainer process: wait for the activity to stop it.
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    retry: {
      initialInterval: '5 seconds',
      backoffCoefficient: 2,
      maximumInterval: '5 minutes',
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['TrainerConfig', 'TrainerOutOfMemory'],
    },
  });
}

export interface PipelineInput {
  runId: string;
  config: PipelineConfig;
  /** Folder for training files, models and the report (shared by the data and gpu workers). */
  workDir: string;
}

export interface PipelineResult {
  files: AssembledFile[];
  models: FineTuneResult[];
  scores: Record<string, EvaluationSummary[]>;
  report: { html: string; markdown: string };
}

export const pipelineProgressQuery = defineQuery<{ step: string; done: string[] }>('progress');

/** The whole experiment as one durable run; its workflow id is the run id. */
export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineResult> {
  const { runId, config, workDir } = input;
  const gpu = gpuActivities(config.training.heartbeatTimeoutSeconds);
  const done: string[] = [];
  let step = 'starting';
  setHandler(pipelineProgressQuery, () => ({ step, done }));
  const enter = async (name: string) => {
    if (step !== 'starting') done.push(step);
    step = name;
    upsertSearchAttributes([
      { key: SA.RUN_KIND, value: 'pipeline' },
      { key: SA.RUN_STATUS, value: name },
    ]);
    upsertMemo({ step: name, name: config.name });
    await data.recordPipeline({ runId, config, status: 'running', step: name });
  };

  try {
    await enter('import');
    await Promise.all(
      config.import.map((imp, i) =>
        executeChild(importDatasetWorkflow, {
          workflowId: `${runId}-import-${i}`,
          taskQueue: WORKFLOW_TASK_QUEUE,
          args: [{ ...imp, batchSize: 500 }],
        }),
      ),
    );

    await enter('generate');
    const generationRunId = `${runId}-generate`;
    await executeChild(generationWorkflow, {
      workflowId: generationRunId,
      taskQueue: WORKFLOW_TASK_QUEUE,
      args: [
        {
          runId: generationRunId,
          config: { ...config.generation, seed: config.generation.seed ?? config.seed },
        },
      ],
    });

    await enter('assemble');
    const files = await data.assembleDataset({
      runId,
      generationRunId,
      real: config.data.real,
      test: config.data.test,
      outDir: `${workDir}/data`,
      realLimit: config.data.realLimit,
      testLimit: config.data.testLimit,
      kReal: config.data.kReal,
      replaceDomain: config.data.replaceDomain,
      seed: config.seed,
    });
    const file = (name: string) => files.find((f) => f.name === name);
    const generated = file('generated');
    if (!generated?.examples) {
      throw ApplicationFailure.nonRetryable(
        'the generation run accepted no dialogue, so there is nothing to train stage 1 on: check the rejection reasons (`dst-synth status`) and the LLM',
        'NoGeneratedData',
      );
    }

    await enter('train');
    const t = config.training;
    const train = (name: string, trainFile: string, init?: string) =>
      gpu.fineTune({
        runId,
        name,
        trainFile,
        outDir: `${workDir}/models/${name}`,
        init: init ?? t.init,
        tiny: !init && t.tiny,
        hyper: t.hyper,
      });
    const [baseline, stage2, stage1] = await Promise.all([
      train('baseline', file('real')!.path),
      (async () => {
        const s1 = await train('stage1', generated.path);
        const s2 = await train('stage2', file('real')!.path, s1.path);
        return [s2, s1] as const;
      })(),
    ]).then(([b, [s2, s1]]) => [b, s2, s1] as const);

    await enter('evaluate');
    const scores: Record<string, EvaluationSummary[]> = {};
    await Promise.all(
      [baseline, stage2].map(async (m) => {
        const preds = await gpu.predictStates({
          runId,
          model: m.name,
          modelDir: m.path,
          inputFile: file('test')!.path,
          outFile: `${workDir}/predictions/${m.name}.jsonl`,
          hyper: t.predict,
        });
        scores[m.name] = await data.evaluatePredictions({
          runId,
          model: m.name,
          dataset: config.data.test.dataset,
          split: config.data.test.split,
          conventions: config.conventions,
          predictionsPath: preds,
          onlyPredictedDialogues: true,
        });
      }),
    );

    await enter('report');
    const report = await data.writeReport({ runId, outDir: `${workDir}/report` });
    done.push(step);
    step = 'completed';
    upsertSearchAttributes([{ key: SA.RUN_STATUS, value: 'completed' }]);
    await data.recordPipeline({ runId, config, status: 'completed', step: 'completed' });
    return { files, models: [baseline, stage1, stage2], scores, report };
  } catch (err) {
    const cancelled = isCancellation(err);
    const message =
      err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    upsertSearchAttributes([{ key: SA.RUN_STATUS, value: cancelled ? 'cancelled' : 'failed' }]);
    // Still recorded when the pipeline itself was cancelled.
    await CancellationScope.nonCancellable(() =>
      data.recordPipeline({
        runId,
        config,
        status: cancelled ? 'cancelled' : 'failed',
        step,
        error: message,
      }),
    );
    throw err;
  }
}
