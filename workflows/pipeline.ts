/**
 * The pipeline DAG (DESIGN.md §5): import → generate → assemble → the experiment matrix
 * (`training/matrix.ts`: real-only models ∥ stage 1 on generated → stage 2s on real sets;
 * each predicts and is evaluated as soon as it is trained) → report. Each step is an
 * activity or a child workflow with a fixed id, so a restarted pipeline finds finished work
 * done (imports and generation skip what is in Postgres; training resumes from checkpoints).
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  executeChild,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createAssembleActivities } from '../activities/assemble';
import type { createAuditActivities } from '../activities/audit';
import type { createEvaluateActivities } from '../activities/evaluate';
import type { EvaluationSummary } from '../activities/evaluate-types';
import type { createPipelineRunActivities } from '../activities/pipeline-run';
import type { createPlanActivities } from '../activities/plan';
import type { PipelineConfig } from '../pipeline/config';
import type { MatrixPlan } from '../pipeline/experiments';
import type { AssembledFile, FineTuneResult } from '../activities/pipeline-types';
import type { createReportActivities } from '../activities/report';
import type { createTrainActivities } from '../activities/train';
// Only for pipelines started before the `plan-activity` patch (see `legacyPlan`).
import { planMatrix } from '../training/matrix';
import { generationWorkflow } from './generate';
import { importDatasetWorkflow } from './import';
import { FAILURE, TRAINER_FATAL } from '../common/failure-types';
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
    nonRetryableErrorTypes: [
      FAILURE.NO_REAL_DATA,
      FAILURE.NO_GOLD_DATA,
      FAILURE.INVALID_PREDICTIONS,
      FAILURE.INVALID_INPUT,
    ],
  },
});

/** The gpu queue's non-retryable types: every trainer failure a retry cannot fix. */
export const GPU_NON_RETRYABLE: string[] = [...TRAINER_FATAL];

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
      nonRetryableErrorTypes: GPU_NON_RETRYABLE,
    },
  });
}

// The plan (pure and instant): no heartbeat; an unknown training set is the config's fault.
const planner = proxyActivities<ReturnType<typeof createPlanActivities>>({
  taskQueue: TASK_QUEUE.DATA,
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FAILURE.INVALID_INPUT],
  },
});

/** `patched()` ids, one per change of the command sequence. */
export const PIPELINE_PATCH = {
  /** The matrix is planned by the `planPipeline` activity (kept in history), not in workflow code. */
  PLAN_ACTIVITY: 'plan-activity',
} as const;

/**
 * The plan of a pipeline started before `PLAN_ACTIVITY`, computed in workflow code as it was
 * then (`tests/histories/pipeline-v1.json`). Remove it with the patch (`deprecatePatch`) once
 * no such pipeline is open.
 */
const legacyPlan = (config: PipelineConfig): MatrixPlan => planMatrix(config);

// The optional label audit (config `audit`): LLM-bound, so on the llm queue. Heartbeats come
// once per labelled turn, which a busy CPU-only model can take minutes over.
const llmAudit = proxyActivities<ReturnType<typeof createAuditActivities>>({
  taskQueue: TASK_QUEUE.LLM,
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '10 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [FAILURE.NO_GOLD_DATA, FAILURE.INVALID_DATASET],
  },
});

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
    // Planned first, so a bad matrix fails before hours of generation, and kept in history, so
    // a later change to the planner never changes this run's commands.
    const planned = patched(PIPELINE_PATCH.PLAN_ACTIVITY)
      ? await planner.planPipeline({ config })
      : undefined;
    await Promise.all(
      config.import.map((imp, i) =>
        executeChild(importDatasetWorkflow, {
          workflowId: `${runId}-import-${i}`,
          taskQueue: WORKFLOW_TASK_QUEUE,
          args: [{ ...imp, batchSize: 500 }],
        }),
      ),
    );

    // Beside generation and training; awaited before the report. A failure is kept (not left
    // unhandled) and rethrown there.
    const audit = config.audit
      ? llmAudit
          .auditLabels({
            runId,
            llm: config.generation.llm,
            dataset: config.audit.dataset ?? config.data.test.dataset,
            split: config.audit.split ?? config.data.test.split,
            limit: config.audit.limit,
            conventions: config.conventions,
            slots: config.audit.slots,
            labeller: config.audit.labeller ?? config.generation.labeller,
            train: config.generation.train,
          })
          .then(
            () => undefined,
            (e: unknown) => e,
          )
      : undefined;

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
    const plan = planned ?? legacyPlan(config);
    const files = await data.assembleDataset({
      runId,
      generationRunId,
      versions: plan.versions,
      tests: plan.tests,
      outDir: `${workDir}/data`,
      realLimit: config.data.realLimit,
      testLimit: config.data.testLimit,
      seed: config.seed,
    });
    const file = (name: string) => {
      const f = files.find((x) => x.name === name);
      if (!f)
        throw ApplicationFailure.nonRetryable(
          `training set ${name} was not assembled`,
          FAILURE.INVALID_INPUT,
        );
      return f;
    };
    const usesGenerated = plan.arms.some((a) => a.stage1 || a.domain);
    if (usesGenerated && !file('generated').examples) {
      throw ApplicationFailure.nonRetryable(
        'the generation run accepted no dialogue, so there is nothing to train stage 1 on: check the rejection reasons (`dst-synth status`) and the LLM',
        FAILURE.NO_GENERATED_DATA,
      );
    }

    // Every training and evaluation of the matrix at once, in plan order: the gpu workers run
    // as many as they have devices (the rest wait in the queue); stage 2s wait for stage 1.
    await enter('train');
    const t = config.training;
    const trained = new Map<string, Promise<FineTuneResult>>();
    for (const p of plan.trainings) {
      const from = p.from ? trained.get(p.from) : undefined;
      trained.set(
        p.model,
        (async () => {
          const init = from ? (await from).path : undefined;
          return gpu.fineTune({
            runId,
            name: p.model,
            trainFile: file(p.trainSet).path,
            outDir: `${workDir}/models/${p.model}`,
            init: init ?? t.init,
            tiny: !init && t.tiny,
            hyper: t.hyper,
            devices: t.devices,
          });
        })(),
      );
    }
    const scores: Record<string, EvaluationSummary[]> = {};
    const evaluated = Promise.all(
      plan.evaluations.map(async (e) => {
        const m = await trained.get(e.model)!;
        const preds = await gpu.predictStates({
          runId,
          model: m.name,
          modelDir: m.path,
          inputFile: file(e.testSet).path,
          outFile: `${workDir}/predictions/${e.key.replace('@', '.')}.jsonl`,
          hyper: t.predict,
        });
        scores[e.key] = await data.evaluatePredictions({
          runId,
          model: m.name,
          dataset: e.test.dataset,
          split: e.test.split,
          conventions: config.conventions,
          predictionsPath: preds,
          onlyPredictedDialogues: true,
        });
      }),
    );
    const [models] = await Promise.all([
      Promise.all(plan.trainings.map((p) => trained.get(p.model)!)).then(async (ms) => {
        await enter('evaluate');
        return ms;
      }),
      evaluated,
    ]);

    const auditError = await audit;
    if (auditError) throw auditError;

    await enter('report');
    const report = await data.writeReport({ runId, outDir: `${workDir}/report` });
    done.push(step);
    step = 'completed';
    upsertSearchAttributes([{ key: SA.RUN_STATUS, value: 'completed' }]);
    await data.recordPipeline({ runId, config, status: 'completed', step: 'completed' });
    // By name (`baseline…`, `stage1`, `stage2…`), whatever order they finished in.
    models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { files, models, scores, report };
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
