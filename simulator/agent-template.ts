/**
 * The agent's turn written by code from the plan, for a turn the agent LLM failed twice (its
 * retry again ungrounded, a repeat, or in the visitor's voice). Before, such a turn rejected the
 * whole attempt: 95 of the 127 rejections of the committed generated set were the agent's
 * (`agent_repeat` 50, `ungrounded_entity` 26, `agent_as_user` 19), each losing the visitor turns
 * and labels made before it. The visitor's turns and their labels, which a DST model learns from,
 * stay the LLM's; only the failed agent turn is a template, in MultiWOZ's own agent phrasing,
 * from the same database facts the LLM was given. Every use is recorded (`agent_template`).
 */
import { slotDescription } from './prompts/user';
import { entityLabel, type SystemAnswer } from './prompts/system';
import { SYSTEM_ACTION, type SystemPromptInput } from './types';

// How MultiWOZ agents ask for a slot, by slot name without its domain.
const QUESTIONS: Record<string, string> = {
  area: 'Which area of town would you like?',
  pricerange: 'What price range are you looking for?',
  stars: 'How many stars would you like?',
  parking: 'Do you need free parking?',
  internet: 'Do you need free wifi?',
  type: 'What type of place are you looking for?',
  food: 'What type of food would you like?',
  day: 'What day will you be travelling?',
  departure: 'Where will you be departing from?',
  destination: 'Where are you headed?',
  leaveat: 'What time would you like to leave?',
  arriveby: 'What time would you like to arrive by?',
  bookday: 'What day would you like the booking for?',
  bookpeople: 'How many people will there be?',
  bookstay: 'How many nights will you be staying?',
  booktime: 'What time would you like the booking for?',
};

// Words for the properties an `answer` gives (the keys of `SystemPromptInput.answers`).
const PROPERTY: Record<string, string> = {
  phone: 'phone number',
  pricerange: 'price range',
  stars: 'star rating',
  trainid: 'train ID',
  duration: 'travel time',
  leaveat: 'departure time',
  arriveby: 'arrival time',
  food: 'food type',
};

const bare = (slot: string) => (slot.includes('-') ? slot.slice(slot.indexOf('-') + 1) : slot);

function question(slot: string): string {
  return QUESTIONS[bare(slot)] ?? `Do you have a preference for the ${slotDescription(slot)}?`;
}

/** " It is a cheap guesthouse in the north." from the candidate's attributes, or '' without any. */
function describe(c: Record<string, string>, domain: string): string {
  const a = (k: string) => c[`${domain}-${k}`];
  if (domain === 'train')
    return a('leaveat') && a('arriveby')
      ? ` It leaves at ${a('leaveat')} and arrives by ${a('arriveby')}.`
      : '';
  const noun = a('type') ?? (domain === 'restaurant' ? 'restaurant' : 'place');
  const what = [a('pricerange'), a('food'), noun].filter(Boolean).join(' ');
  return a('area') || what !== noun ? ` It is a ${what}${a('area') ? ` in the ${a('area')}` : ''}.` : '';
}

/** The answer for `input.allowed[0]`, or undefined when the plan lacks what it needs. */
export function templateAnswer(input: SystemPromptInput): SystemAnswer | undefined {
  const action = input.allowed[0];
  const first = input.candidates[0];
  const name = first ? entityLabel(first) : undefined;
  const domain = input.domain ?? '';
  // Database names are lower case; a sentence still starts with a capital.
  const say = (utterance: string, entity: string | null = null, slot: string | null = null) =>
    action
      ? { action, entity, slot, utterance: utterance.charAt(0).toUpperCase() + utterance.slice(1) }
      : undefined;
  switch (action) {
    case SYSTEM_ACTION.GREET:
      return say('Hello, what can I help you with today?');
    case SYSTEM_ACTION.BYE:
      return say('You are welcome. Have a great day!');
    case SYSTEM_ACTION.NO_MATCH:
      return say("I'm sorry, there is nothing matching that. Would you like to try something else?");
    case SYSTEM_ACTION.REQUEST: {
      const slot = input.missingSlots[0];
      return slot ? say(question(slot), null, slot) : undefined;
    }
    case SYSTEM_ACTION.INFORM:
    case SYSTEM_ACTION.RECOMMEND: {
      if (!first || !name) return undefined;
      const n = input.matchCount;
      const lead =
        action === SYSTEM_ACTION.RECOMMEND
          ? `I would recommend ${name}.`
          : n > 1
            ? `I have ${n} options. One is ${name}.`
            : `${name} matches your request.`;
      return say(`${lead}${describe(first, domain)}`, name);
    }
    case SYSTEM_ACTION.BOOK: {
      if (!name || !input.bookingReference) return undefined;
      return say(`I have booked ${name} for you. Your reference number is ${input.bookingReference}.`, name);
    }
    case SYSTEM_ACTION.ANSWER: {
      const parts = Object.entries(input.answers ?? {}).map(([k, v]) => `the ${PROPERTY[k] ?? k} is ${v}`);
      if (!name || parts.length === 0) return undefined;
      return say(`For ${name}, ${parts.join(' and ')}.`, name);
    }
    default:
      return undefined;
  }
}
