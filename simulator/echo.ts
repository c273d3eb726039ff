/**
 * A user turn that only repeats: the default 1.5B model, asked for the visitor's next message,
 * sometimes writes its own previous message again or echoes the agent's last line (seen with
 * `simulate --trace`). Such a turn carries none of the planned facts, so the checks reject the
 * whole dialogue later; one retry with the repeat named keeps it.
 */
import type { HistoryLine } from './types';

/** What a turn repeats, if anything. */
export const ECHO = { PREVIOUS: 'previous', AGENT: 'agent' } as const;
export type Echo = (typeof ECHO)[keyof typeof ECHO];

/** Share of shared words (Jaccard) from which two turns count as the same message. */
export const ECHO_SIMILARITY = 0.8;

function words(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[a-z0-9']+/g) ?? []);
}

/** Jaccard similarity of the two texts' word sets (1 = same words). */
export function wordSimilarity(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  if (x.size === 0 || y.size === 0) return 0;
  let shared = 0;
  for (const w of x) if (y.has(w)) shared++;
  return shared / (x.size + y.size - shared);
}

/** Whether `utterance` repeats the user's previous turn or the agent's last turn. */
export function echoOf(utterance: string, history: HistoryLine[]): Echo | undefined {
  const last = (speaker: HistoryLine['speaker']) => [...history].reverse().find((l) => l.speaker === speaker);
  const agent = last('SYSTEM');
  if (
    agent &&
    history[history.length - 1] === agent &&
    wordSimilarity(utterance, agent.text) >= ECHO_SIMILARITY
  )
    return ECHO.AGENT;
  const previous = last('USER');
  if (previous && wordSimilarity(utterance, previous.text) >= ECHO_SIMILARITY) return ECHO.PREVIOUS;
  return undefined;
}

/** Sampling temperature of the one retry. */
export const ECHO_RETRY_TEMPERATURE = 1.0;

/** The lines added to the user prompt's instruction block for the one retry. */
export function echoNote(echo: Echo, repeated: string): string {
  const what = echo === ECHO.AGENT ? "the agent's words" : 'your previous message';
  return [
    `Your last try was: "${repeated}". That only repeats ${what}, so do not write it again.`,
    'Write a different message, as the visitor, that does the task above with the facts given.',
  ].join('\n');
}
