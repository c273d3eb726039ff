/**
 * Drives the local client in its own process: node-llama-cpp is ESM with top-level await and
 * cannot load inside Jest's CommonJS sandbox. Usage: node --require tsx/cjs local-llm-probe.ts <model.gguf>
 * Prints one JSON object: timings, a structured answer and a chat answer (or `{ error }`).
 */
import { z } from 'zod';
import { createLocalLlamaClient } from '../../llm/local';

export const ProbeSchema = z.object({
  area: z.enum(['north', 'south', 'east', 'west', 'centre']),
  pricerange: z.enum(['cheap', 'moderate', 'expensive']),
});

async function main(modelPath: string) {
  const client = createLocalLlamaClient({ modelPath, temperature: 0, maxTokens: 40, contextSize: 1024 });
  try {
    let t = Date.now();
    await client.preflight?.();
    const loadMs = Date.now() - t;
    t = Date.now();
    const structured = await client.structured({
      role: 'labeller',
      schemaName: 'hotel_state',
      schema: ProbeSchema,
      messages: [
        { role: 'system', content: 'Extract the hotel constraints the user asked for, as JSON.' },
        { role: 'user', content: 'I need a cheap hotel in the north of town.' },
      ],
    });
    const structuredMs = Date.now() - t;
    t = Date.now();
    const chat = await client.chat({
      role: 'user',
      messages: [{ role: 'user', content: 'Say hello.' }],
      maxTokens: 8,
    });
    const chatMs = Date.now() - t;
    // A limit far below any answer: the model must be stopped by it (finishReason 'length').
    const cut = await client.chat({
      role: 'user',
      messages: [{ role: 'user', content: 'Count from 1 to 50, separated by commas.' }],
      maxTokens: 3,
    });
    // A stop sequence ends the answer before it (the user role's next transcript line).
    const stopped = await client.chat({
      role: 'user',
      messages: [{ role: 'user', content: 'Describe Cambridge in three long sentences.' }],
      maxTokens: 60,
      temperature: 0,
      stop: [' '],
    });
    // A structured answer cut off by the limit: the truncation error, not invalid output.
    const truncated = await client
      .structured({
        role: 'labeller',
        schemaName: 'hotel_state',
        schema: ProbeSchema,
        messages: [{ role: 'user', content: 'I need a cheap hotel in the north of town.' }],
        maxTokens: 2,
      })
      .then(
        () => ({ name: 'none', message: '' }),
        (e: unknown) => ({ name: (e as Error).name, message: (e as Error).message }),
      );
    // Same conversation key, a longer prompt with the same start: only the new tokens are evaluated.
    const turn = (extra: string) =>
      client.chat({
        role: 'user',
        cacheKey: 'probe/user',
        maxTokens: 4,
        messages: [
          { role: 'system', content: 'You are a visitor talking to a travel agent in Cambridge. '.repeat(4) },
          { role: 'user', content: `Agent: Hello, how can I help?${extra}` },
        ],
      });
    const cold = await turn('');
    const warm = await turn(' Visitor: I need a hotel. Agent: Which area?');
    return {
      loadMs,
      structured,
      structuredMs,
      chat,
      chatMs,
      cut,
      stopped: { text: stopped.text, finishReason: stopped.finishReason, usage: stopped.usage },
      truncated,
      cold: cold.usage,
      warm: warm.usage,
    };
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  main(process.argv[2] ?? '').then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (err: unknown) => {
      process.stdout.write(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
      process.exitCode = 1;
    },
  );
}
