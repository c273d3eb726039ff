import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../worker';

// Histories recorded from real runs (RECORD_HISTORIES=1 on the integration tests). A workflow
// change that would break running executions fails here with a non-determinism error.
const dir = path.join(__dirname, '../histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

test('recorded histories exist', () => {
  expect(files.length).toBeGreaterThan(0);
});

test.each(files)('replays %s', async (file) => {
  const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  await Worker.runReplayHistory({ workflowBundle: await bundleWorkflows() }, history, file);
});
