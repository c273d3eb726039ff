/**
 * `isMentioned`: the fuzzy "did someone say this value" text test the rule checks use when
 * no reveal plan says what the user said (see its TSDoc for the rules). Kept apart from the
 * checks so the matching can be read, tested and tuned on its own.
 */
import { canonicalSlot } from '../multiwoz/slots';
import { isDontcare, normalizeValue, parseTime } from '../multiwoz/venues';

/** Normalised words of an utterance, three ways. */
interface Words {
  /** Padded with spaces: ` i want a guesthouse `. */
  spaced: string;
  /** Without spaces. */
  compact: string;
  tokens: string[];
}

/** An utterance prepared once for many `isMentioned` tests. */
export interface Prepared {
  /** `john 's college` read as `johns college` and as `john college` (2.1 labels use both). */
  variants: Words[];
  /** Clock times found: minutes, and whether am/pm or the 24-hour form fixes the half day. */
  times: Array<{ minutes: number; fixed: boolean }>;
}

// Stand-alone words meaning "any value".
const DONTCARE_WORDS = ['any', 'anything', 'anywhere', 'anytime', 'whichever', 'whatever', 'either'];
// A negation followed within 5 words by a preference word: "i dont have an area preference",
// "no particular area", "it doesnt matter", "dont care", "i dont have a specific time".
// Also "regardless of the price", "without considering the price range" (the default model's).
const DONTCARE_PATTERN =
  / ((no|not|dont|doesnt|didnt|isnt|never)( \S+){0,5} (preferences?|particular|specific|matters?|care|mind|picky|fussy|important)|regardless of|without considering|no matter) /;

// Words that show a yes/no slot was talked about; `free` only says yes.
const YES_NO_WORDS: Record<string, string[]> = {
  'hotel-parking': ['parking', 'park'],
  'hotel-internet': ['internet', 'wifi', 'wi fi', 'wireless'],
};

// Other ways to say a value, keyed by `normalizeValue` output.
const SYNONYMS: Record<string, string[]> = {
  centre: ['center', 'central', 'downtown'],
  north: ['northern'],
  south: ['southern'],
  east: ['eastern'],
  west: ['western'],
  cheap: ['inexpensive', 'cheaply', 'budget', 'low cost', 'low price', 'low priced'],
  moderate: ['moderately', 'mid range', 'mid priced', 'medium', 'reasonably priced'],
  expensive: ['upscale', 'high end', 'pricey', 'luxury', 'fancy'],
  'guest house': ['guesthouse', 'bed and breakfast', 'b and b'],
  architecture: ['architectural'],
  theatre: ['theater'],
  nightclub: ['club'],
  'swimming pool': ['pool', 'swimming'],
  'multiple sports': ['sports', 'sport'],
  boat: ['boating', 'punt', 'punting'],
  cinema: ['movie', 'film'],
  'concert hall': ['concert'],
  // Stations as users shorten them ("from stansted", "to kings cross").
  'stansted airport': ['stansted'],
  'london kings cross': ['kings cross'],
  'london liverpool street': ['liverpool street', 'london liverpool'],
  'birmingham new street': ['birmingham'],
};
const ONE_PERSON = ['myself', 'just me', 'only me', 'just for me', 'alone'];

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
const NUMBER_SLOT = /-(bookpeople|bookstay|stars)$/;
const TIME_SLOT = /-(leaveat|arriveby|booktime)$/;
// Slots holding venue names, whose generic words users often leave out ("the university arms").
const NAME_LIKE = /-name$|^taxi-(departure|destination)$/;
const GENERIC_WORDS = / (the|hotel|guest house|guesthouse|bed and breakfast|restaurant|college|museum) /g;
// Words this long match with one typo ("europeon", "petersborough", "archaelogy"), and forms this
// long also with spaces ignored ("fen ditton" = "fenditton"), so `east` never matches `least`.
const LONG_WORD = 6;

/**
 * Lower case; `n't` joined (`do n't` → `dont`); `'s` joined or dropped per `possessive`;
 * other apostrophes dropped; `&` → `and`; `st` → `saint`; `a.m.` → `am`; `10.30` → `10:30`;
 * other punctuation (except `:` inside clock times) → space.
 */
function normText(text: string, possessive: 's' | '' = 's'): string {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`\u00b4]/g, "'")
    .replace(/\s*n't\b/g, 'nt')
    .replace(/\s*'\s*s\b/g, possessive)
    .replace(/'/g, '')
    .replace(/&/g, ' and ')
    .replace(/\b([ap])\.\s?m\b\.?/g, '$1m')
    .replace(/\b(\d{1,2})\.(\d{2})\b/g, '$1:$2')
    .replace(/:(?!\d)|(?<!\d):/g, ' ')
    .replace(/[^a-z0-9:]+/g, ' ')
    .replace(/\bst\b/g, 'saint')
    .trim();
}

const CLOCK = /\b(\d{1,2}:\d{2}|\d{1,2}(?= ?[ap]m\b)|\d{4})( ?[ap]m\b)?|\b(noon|midday|midnight)\b/g;
// A bare hour after a time word: "arrive by 9", "leave after 5".
const BARE_HOUR = /\b(?:by|at|after|before|around|until|till|from) (\d{1,2})\b(?!:)/g;

function timesIn(spaced: string): Prepared['times'] {
  const out: Prepared['times'] = [];
  for (const m of spaced.matchAll(CLOCK)) {
    if (m[3]) {
      out.push({ minutes: m[3] === 'midnight' ? 0 : 720, fixed: true });
      continue;
    }
    const minutes = parseTime(`${m[1] ?? ''}${m[2] ?? ''}`);
    // "17:15" and "5:15 pm" fix the half day; "5:15" may mean either.
    if (minutes !== undefined) out.push({ minutes, fixed: !!m[2] || minutes >= 780 });
  }
  for (const m of spaced.matchAll(BARE_HOUR)) {
    const hour = Number(m[1]);
    if (hour >= 1 && hour <= 12) out.push({ minutes: hour * 60, fixed: false });
  }
  return out;
}

function words(normalised: string): Words {
  return { spaced: ` ${normalised} `, compact: normalised.replace(/ /g, ''), tokens: normalised.split(' ') };
}

export function prepare(text: string): Prepared {
  const joined = normText(text, 's');
  const dropped = normText(text, '');
  const variants = joined === dropped ? [words(joined)] : [words(joined), words(dropped)];
  return { variants, times: timesIn(` ${joined} `) };
}

/** True when `a` and `b` are at most one insertion, deletion or substitution apart. */
function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const rest = (x: string, skip: number) => x.slice(i + skip);
  return rest(a, 1) === rest(b, 1) || rest(a, 1) === rest(b, 0) || rest(a, 0) === rest(b, 1) || a === b;
}

/** Equal, a plural of `want`, or (for long words) one typo away. */
function wordMatches(want: string, got: string): boolean {
  if (got === want || got === `${want}s` || got === `${want}es`) return true;
  return want.length >= LONG_WORD && withinOneEdit(want, got);
}

/** The words of `form`, consecutive, each matching by `wordMatches`. */
function hasWords(w: Words, form: string): boolean {
  const want = form.split(' ');
  for (let i = 0; i + want.length <= w.tokens.length; i++)
    if (want.every((x, k) => wordMatches(x, w.tokens[i + k] ?? ''))) return true;
  return false;
}

function hasForm(w: Words, form: string): boolean {
  if (!form) return false;
  const compact = form.replace(/ /g, '');
  return hasWords(w, form) || (compact.length >= LONG_WORD && w.compact.includes(compact));
}

/** The value, its comparison key, synonyms and, for names, the name without generic words. */
function forms(slot: string, value: string): string[] {
  const key = normalizeValue(slot, value);
  const out = [normText(value), normText(value, ''), normText(key), ...(SYNONYMS[key] ?? [])];
  if (NUMBER_SLOT.test(slot)) out.push(NUMBER_WORDS[Number(key)] ?? '');
  if (slot.endsWith('-bookpeople') && key === '1') out.push(...ONE_PERSON);
  if (NAME_LIKE.test(slot))
    for (const f of [...out]) {
      const core = ` ${f} `.replace(GENERIC_WORDS, ' ').trim();
      if (core.replace(/ /g, '').length >= LONG_WORD) out.push(core);
    }
  return [...new Set(out.filter(Boolean))];
}

function timeMentioned(p: Prepared, minutes: number): boolean {
  return p.times.some((t) => t.minutes === minutes || (!t.fixed && (t.minutes + 720) % 1440 === minutes));
}

function dontcareMentioned(w: Words): boolean {
  return DONTCARE_WORDS.some((f) => w.spaced.includes(` ${f} `)) || DONTCARE_PATTERN.test(w.spaced);
}

function mentionedIn(p: Prepared, slot: string, value: string): boolean {
  const [first] = p.variants;
  if (!first) return false;
  if (isDontcare(value)) return dontcareMentioned(first);
  const key = normalizeValue(slot, value);
  const yesNo = YES_NO_WORDS[slot];
  if (yesNo && (key === 'yes' || key === 'no'))
    return [...yesNo, ...(key === 'yes' ? ['free'] : [])].some((f) => hasWords(first, f));
  const minutes = TIME_SLOT.test(slot) ? parseTime(value) : undefined;
  if (minutes !== undefined) return timeMentioned(p, minutes);
  const all = forms(slot, value);
  return p.variants.some((w) => all.some((f) => hasForm(w, f)));
}

/**
 * True when `text` mentions `value` of `slot`. Rules, on normalised text (lower case,
 * `n't`/`'s` joined, apostrophes and punctuation dropped, `st` → `saint`):
 *
 * - `dontcare`: "any", "anything", "either", "whatever", … or a negation followed within five
 *   words by "preference", "particular", "specific", "matter", "care", "mind", … ("I don't
 *   have an area preference", "it doesn't matter");
 * - `hotel-parking`/`hotel-internet` yes/no: the slot's word ("parking", "internet", "wifi",
 *   …), or "free" for yes;
 * - times: a clock time with the same minutes ("17:15" = "5:15 pm" = "1715" = "17.15";
 *   "5:15" or "by 5" without am/pm count for either half day; "noon", "midnight");
 * - anything else: as consecutive whole words (plural `s`/`es` allowed; words of 6+ letters
 *   one typo away allowed), the value, its `normalizeValue` key (`center` → `centre`), a few
 *   synonyms (`central`, `inexpensive`, `bed and breakfast`, `architectural`, `stansted` for
 *   `stansted airport`, …), for numbers the number word ("myself" for one person), for names
 *   the name without `the`/hotel/guest house/restaurant/college/museum when 6+ letters remain;
 *   forms of 6+ letters also match with spaces ignored (`fen ditton` = `fenditton`);
 * - `a|b` alternatives: any one of them.
 *
 * Not understood, on purpose: references ("the same group", "the attraction", "half an hour
 * later") and bare answers ("no" to "any time preference?").
 */
export function isMentioned(slot: string, value: string, text: string): boolean {
  return mentionedAny([prepare(text)], canonicalSlot(slot), value);
}

/** True when any of `texts` mentions `value` (or one of its `a|b` alternatives) of `slot`. */
export function mentionedAny(texts: readonly Prepared[], slot: string, value: string): boolean {
  const alternatives = value.split('|').map((v) => v.trim());
  return texts.some((p) => alternatives.some((v) => v && mentionedIn(p, slot, v)));
}
