import type { Db } from '../db/client';
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
  };
}

export type Activities = ReturnType<typeof createActivities>;
