/**
 * One LLM client per worker process and config: a local model is loaded once and shared by every
 * generation activity and run on that worker (budgets wrap it per run, they do not copy it).
 */
import { createGenerationResources } from '../../activities/generate-resources';
import type { LlmConfigInput } from '../../llm/config';
import type { LlmClient } from '../../llm/types';

function fakeClient(): LlmClient & { closed: number } {
  const c = {
    model: 'local:fake.gguf',
    closed: 0,
    chat: () =>
      Promise.resolve({
        text: 'hi',
        usage: { promptTokens: 1, completionTokens: 1 },
        costUsd: 0,
        model: 'x',
      }),
    structured: () => Promise.reject(new Error('unused')),
    close: () => {
      c.closed++;
      return Promise.resolve();
    },
  };
  return c;
}

test('the same config on many activities and runs builds one client; close releases it once', async () => {
  const built: Array<ReturnType<typeof fakeClient>> = [];
  const resources = createGenerationResources({
    createLlm: () => {
      const c = fakeClient();
      built.push(c);
      return c;
    },
  });
  const local: LlmConfigInput = { provider: 'local', model: 'smollm2-135m-instruct' };
  const a = resources.llm(local, 'run-1', {});
  const b = resources.llm({ ...local }, 'run-1', {});
  const c = resources.llm(local, 'run-2', { rpm: 60 }); // a run budget wraps, not copies
  await Promise.all([a, b, c].map((x) => x.chat({ role: 'user', messages: [] })));
  expect(built).toHaveLength(1);
  resources.llm({ provider: 'local', model: 'qwen2.5-coder-1.5b-instruct' }, 'run-3', {});
  expect(built).toHaveLength(2);
  await resources.close();
  expect(built.map((x) => x.closed)).toEqual([1, 1]);
});
