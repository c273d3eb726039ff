/**
 * The newest recorded histories (tests/histories, `scripts/record-histories.sh`) took the
 * patched paths: the pipeline planned its matrix in an activity, and the generation parent
 * waited for its signal handlers before it continued as new or returned. The older recordings
 * (`-vN`) replay without them (tests/unit/replay.test.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATION_PATCH } from '../../workflows/generate';
import { PIPELINE_PATCH } from '../../workflows/pipeline';

interface HistoryEvent {
  eventType?: string;
  markerRecordedEventAttributes?: {
    markerName?: string;
    details?: Record<string, { payloads?: Array<{ data?: string }> }>;
  };
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
}

const events = (file: string): HistoryEvent[] =>
  (JSON.parse(readFileSync(path.join(__dirname, '../histories', file), 'utf8')) as { events: HistoryEvent[] })
    .events;

/** Ids of the `patched()` markers of a history, in order. */
const patches = (evs: HistoryEvent[]) =>
  evs.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    if (m?.markerName !== 'core_patch') return [];
    const data = m.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id] : [];
  });

const activities = (evs: HistoryEvent[]) =>
  evs.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);

test.each(['pipeline.json', 'pipeline-matrix.json'])(
  '%s: the plan is an activity, scheduled before the assembly',
  (file) => {
    const evs = events(file);
    expect(patches(evs)).toContain(PIPELINE_PATCH.PLAN_ACTIVITY);
    const names = activities(evs);
    expect(names).toContain('planPipeline');
    expect(names.indexOf('planPipeline')).toBeLessThan(names.indexOf('assembleDataset'));
  },
);

test('pipeline-v1.json predates the plan activity (it replays through the in-workflow plan)', () => {
  const evs = events('pipeline-v1.json');
  expect(patches(evs)).not.toContain(PIPELINE_PATCH.PLAN_ACTIVITY);
  expect(activities(evs)).not.toContain('planPipeline');
});

test.each(['generation-parent.json', 'generation-parent-continued.json'])(
  '%s: the parent waits for its handlers before it ends',
  (file) => {
    const evs = events(file);
    expect(patches(evs)).toContain(GENERATION_PATCH.HANDLERS_FINISHED);
    const last = evs.at(-1)?.eventType;
    expect([
      'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED',
      'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
    ]).toContain(last);
  },
);
