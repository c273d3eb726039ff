/** The plan printed before a run names the label audit when the config has one. */
import path from 'node:path';
import { auditPlanLine, loadPipelineConfig } from '../../client/pipeline';

test('the demo config audits 2 test dialogues; a config without `audit` prints no line', () => {
  const config = loadPipelineConfig(path.join(__dirname, '../../examples/tiny-cpu.json'));
  expect(auditPlanLine(config)).toBe(
    '  and: audit the labeller on the first 2 multiwoz21/test dialogues, beside generation (label accuracy in the report)',
  );
  expect(auditPlanLine({ ...config, audit: undefined })).toBeUndefined();
});
