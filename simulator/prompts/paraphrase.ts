/**
 * The paraphraser's prompt (DESIGN.md §3.5): several rewrites of a user utterance, one of which is
 * picked at random for diversity. The answer is JSON (`ParaphraseAnswer`).
 *
 * Machine-readable anchor (last message):
 *
 * ```
 * Sentence: I'm looking for a hotel in the north, with 4 stars.
 * Keep verbatim: ["north","4"]
 * Count: 3
 * ```
 */
import { z } from 'zod';
import type { ParaphrasePromptInput } from '../types';
import type { ChatMessage } from '../../llm/types';

/** Any number of non-empty rewrites; use `paraphraseAnswerSchema(count)` to demand exactly `count`. */
export const ParaphraseAnswer = z.object({ rewrites: z.array(z.string().min(1).max(400)).min(1).max(10) });
export type ParaphraseAnswer = z.infer<typeof ParaphraseAnswer>;

/** Schema name for `StructuredRequest.schemaName`. */
export const PARAPHRASE_ANSWER_NAME = 'paraphrase_answer';

/**
 * `ParaphraseAnswer` with exactly `count` rewrites. A wrong count goes back to the model once (the
 * structured retry); whether each rewrite kept its values is left to `keepsAllValues`, so one
 * bad rewrite is dropped rather than failing the whole call.
 */
export function paraphraseAnswerSchema(count: number): z.ZodType<ParaphraseAnswer> {
  return z.object({ rewrites: z.array(z.string().min(1).max(400)).length(count) });
}

/**
 * True when every `keep` value occurs in the rewrite. Case-insensitive, because a rewrite may
 * start a sentence with a value ("North is fine") without changing it.
 */
export function keepsAllValues(rewrite: string, keep: readonly string[]): boolean {
  const text = rewrite.toLowerCase();
  return keep.every((v) => text.includes(v.toLowerCase()));
}

// Keeping values verbatim is what lets the state labels and the goal stay aligned after rewriting;
// "casual" counters the formal register LLMs drift to, which real MultiWOZ users do not have.
const SYSTEM_MESSAGE = [
  'You rewrite what a visitor says to a travel agent in Cambridge.',
  'Rules:',
  '- Same meaning; add or drop nothing.',
  '- Copy every "Keep verbatim" value exactly as written.',
  '- Vary the wording: casual, natural, each rewrite different.',
].join('\n');

/** Messages asking for `input.count` rewrites of `input.utterance`. */
export function paraphrasePrompt(input: ParaphrasePromptInput): ChatMessage[] {
  const body = [
    `Sentence: ${input.utterance}`,
    `Keep verbatim: ${JSON.stringify(input.keep)}`,
    `Count: ${input.count}`,
    `Answer as JSON: {"rewrites": [...]} with exactly ${input.count} rewrites.`,
  ];
  return [
    { role: 'system', content: SYSTEM_MESSAGE },
    { role: 'user', content: body.join('\n') },
  ];
}
