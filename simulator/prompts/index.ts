/**
 * Prompts of the four LLM roles of the simulator, each built by a pure typed function
 * (DESIGN.md §3). Prompts are kept short: the small local model runs them too.
 */
export {
  cleanUserUtterance,
  USER_STOP,
  mustMention,
  plainRequest,
  USER_MAX_TOKENS,
  toLastSentence,
  slotDescription,
  factLabel,
  userPrompt,
  USER_INSTRUCTION_HEADING,
  DONTCARE_WORDS,
  EARLIER_LINES,
} from './user';
export {
  systemPrompt,
  systemDecodingSchema,
  SystemAnswer,
  SYSTEM_ANSWER_NAME,
  SYSTEM_FACTS_HEADING,
  entityLabel,
} from './system';
export {
  paraphrasePrompt,
  ParaphraseAnswer,
  PARAPHRASE_ANSWER_NAME,
  paraphraseAnswerSchema,
  keepsAllValues,
} from './paraphrase';
export {
  labelPrompt,
  labelDecodingSchema,
  LabelAnswer,
  LabelUpdate,
  LABEL_ANSWER_NAME,
  BASELINE_LABELLER,
  DEFAULT_LABELLER,
  LabellerOptionsSchema,
  type LabellerOptions,
  type LabelExample,
} from './labeller';

/** `ChatRequest.role` of each simulator role: sent as the `x-dst-role` header, used in logs. */
export const ROLE = {
  USER: 'user',
  SYSTEM: 'system',
  PARAPHRASER: 'paraphraser',
  LABELLER: 'labeller',
} as const;
export type Role = (typeof ROLE)[keyof typeof ROLE];
