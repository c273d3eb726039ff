/**
 * The pipeline's plan as an activity: the experiment matrix (`training/matrix.ts`) computed
 * once, on a worker, and kept in the workflow's history. A later change to the planner (made
 * for the report or `run --dry-run`, which share it) then changes new pipelines only: a
 * running or replayed one reads its plan back from its history.
 */
import type { PipelineConfig } from '../pipeline/config';
import type { MatrixPlan } from '../pipeline/experiments';
import { planMatrix } from '../training/matrix';

/** Pure: no dependencies, nothing read or written. */
export function createPlanActivities() {
  return {
    /** The config's matrix; an unknown training set fails as `FAILURE.INVALID_INPUT` (non-retryable). */
    async planPipeline(input: { config: PipelineConfig }): Promise<MatrixPlan> {
      return planMatrix(input.config);
    },
  };
}
