import type { Db } from '../db/client';
import type { DevicePool } from '../training/devices';
import { createEvaluateActivities } from './evaluate';
import { createGenerationActivities } from './generate';
import { createGenerationResources, type GenerationResources } from './generate-resources';
import { createImportActivities } from './import';
import { createAssembleActivities } from './assemble';
import { createAuditActivities } from './audit';
import { createPipelineRunActivities } from './pipeline-run';
import { createPlanActivities } from './plan';
import { createReportActivities } from './report';
import { createTrainActivities } from './train';

export interface ActivityDeps {
  db: Db;
  /** Folder for downloaded releases and other worker-local files. */
  downloadDir: string;
  /** Pool for saving in-progress dialogues (see `GenerationActivityDeps.sessionDb`). Default `db`. */
  sessionDb?: Db;
  /** The worker's training devices (`training/devices.ts`). Default: one CPU device. */
  devices?: DevicePool;
  /** Worker-wide caches for generation (venues, training data, LLM clients). Default: fresh ones. */
  generation?: GenerationResources;
}

/** Every activity of dst-synth, built from injected dependencies (no module singletons). */
export function createActivities(deps: ActivityDeps) {
  const resources = deps.generation ?? createGenerationResources();
  return {
    ...createAuditActivities({ db: deps.db, resources }),
    ...createImportActivities({ db: deps.db, downloadDir: deps.downloadDir }),
    ...createEvaluateActivities({ db: deps.db }),
    ...createAssembleActivities({ db: deps.db }),
    ...createTrainActivities({ db: deps.db, devices: deps.devices }),
    ...createPipelineRunActivities({ db: deps.db }),
    ...createPlanActivities(),
    // The quality section reads the worker's one copy of the train split (generation's too).
    ...createReportActivities({
      db: deps.db,
      realTraining: () => resources.training().then((t) => t.dialogues),
    }),
    ...createGenerationActivities({
      db: deps.db,
      resources,
      sessionDb: deps.sessionDb,
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
