import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../worker';
import * as workflows from '../../workflows';

// Histories recorded from real runs (scripts/record-histories.sh). A workflow change that
// would break running executions fails here with a non-determinism error.
const dir = path.join(__dirname, '../histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

interface HistoryJson {
  events?: Array<{ workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }>;
}
const read = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as HistoryJson;
const typeOf = (h: HistoryJson) => h.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;

/** Every workflow type a worker registers: the exported functions of `workflows/` named `…Workflow`. */
const workflowTypes = Object.entries(workflows)
  .filter(([name, v]) => typeof v === 'function' && name.endsWith('Workflow'))
  .map(([name]) => name)
  .sort();

test('every workflow type has a recorded history', () => {
  expect(workflowTypes.length).toBeGreaterThan(0);
  const recorded = new Set(files.map((f) => typeOf(read(f))));
  const missing = workflowTypes.filter((t) => !recorded.has(t));
  if (missing.length)
    throw new Error(
      `no recorded history for ${missing.join(', ')}: record one (scripts/record-histories.sh) and commit it`,
    );
});

let bundle: ReturnType<typeof bundleWorkflows> | undefined;
test.each(files)('replays %s', async (file) => {
  await Worker.runReplayHistory({ workflowBundle: await (bundle ??= bundleWorkflows()) }, read(file), file);
});
