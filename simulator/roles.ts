/**
 * Role coherence of generated turns (issue 15): small chat-tuned models slide into the other
 * speaker's part — the user offers help or asks the agent about "your hotel", the agent asks the
 * visitor for a recommendation — or say nothing, or say the same thing twice. Each test here is a
 * pure function over one turn; the engine retries the turn once as its own step and rejects the
 * attempt when the retry fails the same test (simulator/engine.ts).
 *
 * The phrase lists were read off accepted dialogues of the 1.5B default model and checked against
 * every user and system turn of the real MultiWOZ 2.1 test split (tests/unit/roles.test.ts): a
 * phrase that fires on real turns of its own role is not in the list.
 */
import { wordSimilarity } from './echo';
import { REASON } from './types';

/** Why a turn was asked again: the reason codes of these checks (see `REASON`). */
export const ROLE_PROBLEM = {
  USER_AS_AGENT: REASON.USER_AS_AGENT,
  AGENT_AS_USER: REASON.AGENT_AS_USER,
  EMPTY_TURN: REASON.EMPTY_TURN,
  AGENT_REPEAT: REASON.AGENT_REPEAT,
  ALREADY_ANSWERED: REASON.ALREADY_ANSWERED,
} as const;
export type RoleProblem = (typeof ROLE_PROBLEM)[keyof typeof ROLE_PROBLEM];

// The agent's voice in a user turn. Each phrase is one a visitor does not say to a desk agent.
const AGENT_VOICE: readonly RegExp[] = [
  /\bhow (?:can|may|could) i (?:help|assist)\b/,
  /\b(?:i'd|i would|i'll|i will|i am|i'm) (?:be )?(?:happy|glad|delighted) to (?:help|assist|book|find|arrange|recommend)\b/,
  /\bis there anything (?:else )?i can\b/,
  /\banything else i can (?:help|do)\b/,
  /\blet me know if you (?:need|have|would like|want)\b/,
  /\bwhat (?:can i|may i) (?:do|get) for you\b/,
  /\b(?:would|do) you (?:like|want) me to\b/,
  /\bi can (?:help you|book you|recommend|offer you)\b/,
  /\b(?:your|the) (?:booking|reservation) (?:is|has been) (?:confirmed|complete|made)\b/,
  /\byour reference (?:number )?is\b/,
  /\bwhat (?:area|price range|type of (?:food|cuisine|place)|day|time) (?:are you|would you|do you)\b/,
  /\b(?:could|can) you (?:please )?(?:provide|give|tell) (?:me )?(?:a bit )?(?:more )?(?:information|details) about (?:your|the) (?:preferences|requirements|budget)\b/,
  /\babout your (?:hotel|restaurant|guest ?house|attraction|train|taxi|establishment|business)\b/,
  /\b(?:the )?distance you(?:'re| are) willing\b/,
  /\bwhat are you looking for\b/,
  /\bwelcome to (?:the )?(?:cambridge|towninfo)\b/,
  // Seen in a demo: "…confirm the following details … I'd be glad to proceed with booking the train for you."
  /\b(?:happy|glad|delighted) to (?:proceed|go ahead)\b/,
  /\bonce you(?:'ve| have) confirmed\b/,
  // Seen in the 300-goal run: "Sure, I'll go ahead and book the Grey Lexus for you.", "Sure,
  // would you like to know the phone number…?", "Sure, the phone number for the Blue Toyota is …".
  /\b(?:book|booking|reserve|reserving) (?:the|a|your|it|that)(?: [\w']+){0,3} for you\b/,
  /\bwould you like to know\b/,
  /\b(?:phone number|postcode|reference number)(?: (?:for|of) (?:the )?[\w' ]+)? is [a-z]{0,2}\d/,
  // The demo of 2026-12-07: the visitor telling the agent the facts ("The address of Wagamama is
  // 23 Cambridge Street.", "Travel time for TR0413 is 06:58 to 07:02.", "According to the
  // timetable, …", "I will use some research. I'll check the timetable …"); a question passes.
  // 2026-12-07 (a probe of 3 real goals): "Sure! The price for the train ticket is £200."
  /\b(?:address|travel time|arrival time|departure time|entrance fee|price)(?: (?:of|for) [\w' ]+)? is [£$]?\d(?![^.!?]*\?)/,
  // The 100-goal run: "Sure, you can call 01223 123456 to get more information about …".
  /\byou can (?:call|reach|contact)(?: (?:them|it|us|the \w+))?(?: (?:at|on))? \d/,
  /\baccording to (?:the|my) (?:timetable|schedule|database|records)\b/,
  /\bi(?:'ll| will) (?:check|look up|search) (?:the|our) (?:timetable|schedule|database|system|records)\b/,
  /\bi(?:'ll| will) use some research\b/,
  // The 100-goal run of 2026-12-07: "Can you provide me with the names of the towns you're
  // interested in staying in…?", "What days are you interested in booking…?", "Sure! The phone
  // number is (123) 456-7890."
  /\b(?:you're|you are|are you) interested in\b/,
  /\bphone number is \(?\d/,
];

// The visitor's voice in an agent turn.
const USER_VOICE: readonly RegExp[] = [
  // "Could you please recommend a restaurant…?", "Could you please suggest an option that does?"
  // (the 100-goal run, 2026-12-07)
  /\b(?:can|could) you (?:please )?(?:recommend|suggest)\b/,
  /\b(?:i am|i'm) looking for\b/,
  /\bi want (?:a|an|to book|to find|to get)\b/,
  /\bi(?:'d| would) like to (?:book|reserve|find|stay|eat|visit|travel|go)\b/,
  /\bcan you book (?:it|me|that|a)\b/,
  /\bplease book (?:it|me|that)\b/,
  /\bwhat is the (?:arrival|departure) time (?:for|of)\b.*\?/,
  // The agent closing as the visitor would (the 300-goal run): "Thank you for your help. I'll see you soon."
  /\bthank you for your help\b/,
  /\bi'll see you\b/,
  // The agent greeting with the visitor's own greeting (the 100-goal run, 2026-12-07): "Hello! I'm
  // just here for a business trip to Cambridge. Could you please help me with something?"
  /\b(?:could|can) you (?:please )?help me with\b/,
  /\b(?:i'm|i am) (?:just )?here (?:for|on) a\b/,
];

const lower = (t: string) => t.toLowerCase().replace(/[’‘]/g, "'");

/** Whether a user turn speaks as the agent (offers help, asks for the visitor's wishes). */
export function userSpeaksAsAgent(utterance: string): boolean {
  const t = lower(utterance);
  return AGENT_VOICE.some((re) => re.test(t));
}

/** Whether an agent turn speaks as the visitor (asks for a recommendation, wants to book). */
export function agentSpeaksAsUser(utterance: string): boolean {
  const t = lower(utterance);
  return USER_VOICE.some((re) => re.test(t));
}

/**
 * Whether an agent turn says the visitor's last turn again (same words, ±20 %): the agent then
 * speaks the visitor's part, so it counts as `agent_as_user`.
 */
export function agentEchoesUser(utterance: string, lastUser: string | undefined): boolean {
  return agentRepeats(utterance, lastUser); // the same test, against the visitor's turn
}

/** Share of shared words from which an agent turn repeats the agent's previous one. */
export const AGENT_REPEAT_SIMILARITY = 0.8;

/** Whether an agent turn repeats the agent's previous turn (same words, ±20 %). */
export function agentRepeats(utterance: string, previousAgent: string | undefined): boolean {
  return previousAgent !== undefined && wordSimilarity(utterance, previousAgent) >= AGENT_REPEAT_SIMILARITY;
}

/**
 * Whether a user turn that was to carry facts carries none of them: `said(slot, value)` tells
 * whether the utterance names one planned value. Used for every user turn that is not a
 * greeting or goodbye: "Sure, I'll tell you what I'm looking for." as a first turn, "Sure." later.
 */
export function isEmptyTurn(
  facts: ReadonlyArray<readonly [string, string]>,
  said: (slot: string, value: string) => boolean,
): boolean {
  return facts.length > 0 && !facts.some(([slot, value]) => said(slot, value));
}

// How a visitor names a property when asking for it.
const ASKED_WORDS: Readonly<Record<string, RegExp>> = {
  address: /\baddress\b|\bwhere is it\b/,
  phone: /\bphone\b|\bnumber to call\b/,
  postcode: /\bpost ?code\b|\bzip\b/,
  pricerange: /\bprice\b|\bexpensive\b|\bcheap\b/,
  price: /\bprice\b|\bcost\b|\bhow much\b/,
  area: /\barea\b|\bpart of (?:town|the city)\b/,
  type: /\btype\b|\bkind of\b/,
  food: /\bfood\b|\bcuisine\b/,
  stars: /\bstars?\b/,
  internet: /\binternet\b|\bwi-?fi\b/,
  parking: /\bparking\b/,
  'entrance fee': /\bentrance\b|\bfee\b|\badmission\b/,
  trainid: /\btrain (?:id|number)\b/,
  duration: /\bhow long\b|\btravel time\b|\bduration\b/,
  leaveat: /\bleave\b|\bdepart/,
  arriveby: /\barriv/,
  'car type': /\bcar\b|\bkind of (?:car|vehicle)\b/,
};

/** Properties of `told` that the user turn asks for (a question naming the property). */
export function asksAgain(utterance: string, told: readonly string[]): string[] {
  const t = lower(utterance);
  const question =
    t.includes('?') ||
    /^(?:what|where|could|can|may|how|do|does|is)\b/.test(t.trim()) ||
    /\b(?:i'd|i would) (?:like|love) to know\b|\b(?:tell|give|send) me\b|\bcan i (?:get|have)\b/.test(t);
  if (!question) return [];
  return told.filter((r) => ASKED_WORDS[r]?.test(t));
}

/**
 * The instruction added to the one retry of a turn that failed `problem`. The rejected words are
 * not quoted: quoted, the 1.5B default model wrote them again word for word, even at
 * temperature 1.0 ("Sure, I'd be happy to book it for 6 people." twice; the 300-goal run,
 * 2026-12-06). A repeat's words are in the transcript already.
 */
export function roleNote(problem: RoleProblem): string {
  const why: Record<RoleProblem, string> = {
    [ROLE_PROBLEM.USER_AS_AGENT]:
      'That is what the agent would say. You are the visitor: say what YOU want; never offer help or ask the agent what it needs.',
    [ROLE_PROBLEM.AGENT_AS_USER]:
      'That is what the visitor would say. You are the agent: answer the visitor from the facts; never ask the visitor for recommendations or say what you want.',
    [ROLE_PROBLEM.EMPTY_TURN]: 'That says nothing. Say what you are looking for now, with the facts given.',
    [ROLE_PROBLEM.AGENT_REPEAT]:
      'That repeats your previous turn word for word. Say something new that moves the conversation on.',
    [ROLE_PROBLEM.ALREADY_ANSWERED]:
      'The agent has just told you that. Do not ask for it again; do the task above.',
  };
  return `Your last try was rejected. ${why[problem]}`;
}
