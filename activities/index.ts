import type { Db } from '../db/client';
import { createEvaluateActivities } from './evaluate';
import { createImportActivities } from './import';

export interface ActivityDeps {
  db: Db;
  /** Folder for downloaded releases and other worker-local files. */
  downloadDir: string;
}

/** Every activity of dst-synth, built from injected dependencies (no module singletons). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createImportActivities({ db: deps.db, downloadDir: deps.downloadDir }),
    ...createEvaluateActivities({ db: deps.db }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
