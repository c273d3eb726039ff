/**
 * A worked example for the user agent: a real MultiWOZ training turn that said the same kind of
 * facts as the planned turn, with its values replaced by the planned ones ("I need a cheap place
 * in the north." for price range cheap and area north). The 1.5B default model, told only the
 * facts, slid into the agent's voice ("I'd be happy to help you book…") and restated earlier
 * facts instead of the planned ones (the 20-dialogue review, 2026-12-08); shown how a visitor says
 * them, it has a visitor's sentence to follow. The same idea as the labeller's retrieved examples
 * (IC-DST), from the same index: the training split only, never a dev or test dialogue.
 *
 * A turn is only used when the swap is clean: each value it swaps is written out once, word for
 * word (a value the plan shares with it stays as said: "free wifi", "any area"), and it says no other value of its dialogue's state (a real visitor restating the earlier
 * "to Cambridge" would teach the model to add a fact the plan did not give).
 */
import { isMentioned } from './mentions';
import type { TurnRetriever, UpdateTurn } from './retrieval';

/** Longest example, in words: MultiWOZ user turns are about 13 words; long ones carry asides. */
export const USER_EXAMPLE_MAX_WORDS = 24;

/** Candidates looked at before giving up (the list is walked from a point set by `key`). */
const TRIES = 64;

// A turn that also asks for something, changes its mind or asks a question the plan did not give
// ("…can i get the postcode?", "actually, can i change that to friday") would add a move.
const OFF_PLAN =
  /\b(?:address|phone|postcode|post code|reference|entrance|fee|travel time|train id|id|number|change|instead|actually|what|which|how|when|where|another|other|else|also)\b/i;

/**
 * The 2.1 release's tokenized text as written: "place -s to go in the south ." → "Places to go
 * in the south.", "i am" → "I am".
 */
export function detokenize(text: string): string {
  const t = text
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/ -(\w)/g, '$1')
    .replace(/ ([.,?!;:])/g, '$1')
    .replace(/ (n't|'s|'re|'ll|'d|'m|'ve)\b/g, '$1')
    .replace(/\bi\b/g, 'I');
  return t.replace(/(^|[.?!] )([a-z])/g, (_m, p: string, c: string) => p + c.toUpperCase());
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Case-insensitive whole-word occurrences of `value` in `text`. */
function occurrences(text: string, value: string): RegExpMatchArray[] {
  return [...text.matchAll(new RegExp(`(?<![\\w])${escape(value)}(?![\\w])`, 'gi'))];
}

/** `turn`'s words with its update values replaced by `facts`', or undefined when not cleanly. */
export function relexicalize(turn: UpdateTurn, facts: Readonly<Record<string, string>>): string | undefined {
  const text = detokenize(turn.user);
  if (text.split(' ').length > USER_EXAMPLE_MAX_WORDS || OFF_PLAN.test(text)) return undefined;
  const old = Object.entries(turn.update);
  if (old.length !== Object.keys(facts).length) return undefined;
  const values = old.map(([, v]) => v.toLowerCase());
  if (new Set(values).size !== values.length) return undefined; // "2 people, 2 nights": which is which?
  // A value the plan shares with the turn stays as the visitor said it ("free wifi" for internet
  // yes, "any area" for dontcare); only different values are swapped, and those must be exact.
  const swapped = old.filter(([slot, v]) => facts[slot] !== v);
  for (const [slot, v] of old) {
    const to = facts[slot];
    if (to === undefined || v.includes('|')) return undefined;
    if (to === v) {
      if (!isMentioned(slot, v, text)) return undefined;
    } else if (to === 'dontcare' || v === 'dontcare' || occurrences(text, v).length !== 1) return undefined;
  }
  for (const [slot, v] of Object.entries(turn.state))
    if (!(slot in turn.update) && isMentioned(slot, v, text)) return undefined;
  // All at once, from the original text: a new value may spell another slot's old one.
  const spans = swapped
    .map(([slot, v]) => ({ at: occurrences(text, v)[0]!.index!, length: v.length, to: facts[slot]! }))
    .sort((a, b) => b.at - a.at);
  if (spans.some((s, i) => i > 0 && s.at + s.length > spans[i - 1]!.at)) return undefined;
  let out = text;
  for (const { at, length, to } of spans) out = out.slice(0, at) + to + out.slice(at + length);
  return out.charAt(0).toUpperCase() + out.slice(1);
}

/** A small stable hash, so the same turn of the same goal gets the same example on a resume. */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * A real visitor turn saying `facts` (slot → planned value), or undefined when the index has no
 * clean one. `key` picks among the candidates (the same key, the same example).
 */
export function visitorExample(
  retriever: TurnRetriever,
  facts: Readonly<Record<string, string>>,
  key: string,
): string | undefined {
  const slots = Object.keys(facts);
  if (slots.length === 0) return undefined;
  const turns = retriever.sameUpdate(slots);
  if (turns.length === 0) return undefined;
  const start = hash(key) % turns.length;
  for (let i = 0; i < Math.min(TRIES, turns.length); i++) {
    const example = relexicalize(turns[(start + i) % turns.length]!, facts);
    if (example) return example;
  }
  return undefined;
}
