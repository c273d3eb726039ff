import { proxyActivities } from '@temporalio/workflow';
import type { createEvaluateActivities } from '../activities/evaluate';
import type { EvaluateInput, EvaluationSummary } from '../activities/evaluate-types';
import { FAILURE } from '../common/failure-types';
import { TASK_QUEUE } from './task-queues';

const { evaluatePredictions } = proxyActivities<ReturnType<typeof createEvaluateActivities>>({
  taskQueue: TASK_QUEUE.DATA,
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 minutes',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [FAILURE.NO_GOLD_DATA, FAILURE.INVALID_INPUT, FAILURE.INVALID_PREDICTIONS],
  },
});

/** Scores one prediction set under the given conventions and stores the results. */
export async function evaluateWorkflow(input: EvaluateInput): Promise<EvaluationSummary[]> {
  return evaluatePredictions(input);
}
