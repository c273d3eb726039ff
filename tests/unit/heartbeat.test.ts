/** `withHeartbeat`: heartbeats while the work runs, none after it settles, errors passed on. */
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeatPeriodMs, withHeartbeat } from '../../activities/heartbeat';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function counting() {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 500 });
  const beats: number[] = [];
  env.on('heartbeat', () => beats.push(Date.now()));
  return { env, beats };
}

test('a fifth of the heartbeat timeout, between 100 ms and 30 s', () => {
  expect(heartbeatPeriodMs(500)).toBe(100);
  expect(heartbeatPeriodMs(50)).toBe(100);
  expect(heartbeatPeriodMs(60_000)).toBe(12_000);
  expect(heartbeatPeriodMs(5 * 60_000)).toBe(30_000); // the data queue's 5 minutes
});

test('beats at once and every period while the work runs, and stops when it is done', async () => {
  const { env, beats } = counting();
  const got = await env.run(() => withHeartbeat(() => sleep(450).then(() => 'done')));
  expect(got).toBe('done');
  expect(beats.length).toBeGreaterThanOrEqual(4); // 0, 100, 200, 300, 400 ms
  const after = beats.length;
  await sleep(300);
  expect(beats.length).toBe(after);
});

test('a failing work: its error, and no heartbeat after it', async () => {
  const { env, beats } = counting();
  const boom = () => sleep(150).then(() => Promise.reject(new Error('boom')));
  await expect(env.run(() => withHeartbeat(boom))).rejects.toThrow('boom');
  const after = beats.length;
  expect(after).toBeGreaterThanOrEqual(2);
  await sleep(300);
  expect(beats.length).toBe(after);
});
