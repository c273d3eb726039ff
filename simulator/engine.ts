/**
 * The dialogue generator: one goal → up to 3 attempts → an accepted dialogue or rejections
 * with reasons (DESIGN.md §3). A session advances by `stepSession`, one LLM role call per
 * step, and is plain JSON between steps, so a caller (a Temporal activity) can save it after
 * every step and resume a crashed attempt without repeating a completed call.
 */
import { InvalidLlmOutputError } from '../llm/errors';
import type { ChatMessage, ChatResult, LlmClient } from '../llm/types';
import type { Ontology } from '../multiwoz/ontology';
import type { VenueDb } from '../multiwoz/venues';
import { labelSlotsFor, labelTurn } from './label-turn';
import type { TurnRetriever } from './retrieval';
import { ECHO, ECHO_RETRY_TEMPERATURE, echoNote, echoOf } from './echo';
import { isMentioned } from './mentions';
import type { Goal } from './goal-types';
import {
  ParaphraseAnswer,
  ROLE,
  type LabellerOptions,
  SystemAnswer,
  paraphrasePrompt,
  systemDecodingSchema,
  systemPrompt,
  userPrompt,
  cleanUserUtterance,
  USER_STOP,
  USER_MAX_TOKENS,
  mustMention,
  plainRequest,
  toLastSentence,
} from './prompts';
import { sampleRevealPlan, type RevealStats } from './reveal';
import { meteredClient } from './role-usage';
import { createRng, deriveSeed, type Rng } from './rng';
import {
  STEP,
  currentState,
  emptyUsage,
  type PendingUserMove,
  type Session,
  type SessionSystemTurn,
  type SessionUserTurn,
} from './session';
import { awayFromPrevious, entityName, groundAnswer, history, planSystemTurn, toldIn } from './system-policy';
import {
  ROLE_PROBLEM,
  agentRepeats,
  agentEchoesUser,
  agentSpeaksAsUser,
  asksAgain,
  isEmptyTurn,
  roleNote,
  userSpeaksAsAgent,
  type RoleProblem,
} from './roles';
import {
  REASON,
  USER_INTENT,
  type CheckFailure,
  type DialogueOutcome,
  type Reason,
  type UserPromptInput,
} from './types';
import { goalValues, planUserMove } from './user-policy';
import { visitorExample } from './user-examples';
import { templateAnswer } from './agent-template';

export interface SimulatorDeps {
  llm: LlmClient;
  db: VenueDb;
  ontology: Ontology;
  /** Reveal probabilities estimated from real training dialogues (`estimateRevealStats`). */
  stats: RevealStats;
  /** The labeller's worked examples (training split only); without one, none are shown. */
  retriever?: TurnRetriever;
}

export interface SimulatorOptions {
  /** Rewrites asked of the paraphraser per user utterance; 0 turns paraphrasing off. Default 3. */
  paraphrases?: number;
  /** Attempts per goal (DESIGN.md §3.7). Default 3. */
  maxAttempts?: number;
  /** Sampling temperature of every role. Default: the client's (0.5, as the paper). */
  temperature?: number;
  /** How the labeller is asked (the audit's `--examples`/`--answer`/`--dontcare`). Default `DEFAULT_LABELLER`. */
  labeller?: LabellerOptions;
  /**
   * Transcript lines (user and agent turns) the user's prompt shows, the latest ones; `Infinity`
   * shows them all. Default `USER_HISTORY_LINES`. The checks always see the whole dialogue.
   */
  userHistoryLines?: number;
  /**
   * Whether the user's prompt shows a real visitor's turn saying the same kinds of facts, values
   * swapped (`visitorExample`; needs `SimulatorDeps.retriever`). Default `USER_EXAMPLES`.
   */
  userExamples?: boolean;
  /**
   * Whether an agent turn the LLM failed twice is written from the plan (`templateAnswer`) instead
   * of rejecting the attempt. Default `AGENT_TEMPLATE`.
   */
  agentTemplate?: boolean;
  /**
   * Whether a user turn the LLM failed twice becomes a real visitor's turn for the same facts
   * (`visitorExample`, needs `SimulatorDeps.retriever`) instead of rejecting the attempt.
   * Default `USER_FALLBACK`.
   */
  userFallback?: boolean;
}

/**
 * Default of `userHistoryLines`: the whole transcript until `bench/local-llm.bench.ts
 * fullhist2,window2` shows a window is better. Why a window is tried: shown its whole
 * transcript, the 1.5B default model copied its own earlier turns ("I'm looking for a
 * restaurant in the north area…" five times, the turn's facts left out; run gen-real100-s22),
 * and the agent answered the repeat with its own.
 */
export const USER_HISTORY_LINES = Infinity;

/** Default of `userFallback`. */
export const USER_FALLBACK = true;

/** Default of `agentTemplate`. */
export const AGENT_TEMPLATE = true;

/** Default of `userExamples`; see `bench/local-llm.bench.ts examples0,examples1`. */
export const USER_EXAMPLES = false;

const PERSONAS = [
  'a first-time visitor to Cambridge, polite and brief',
  'a first-time visitor to Cambridge travelling with family, friendly and chatty',
  'a first-time visitor to Cambridge on a business trip, direct and efficient',
  'a first-time visitor to Cambridge, a student on a budget, casual',
];

export interface SessionInput {
  goal: Goal;
  goalIndex: number;
  /** 1-based attempt number. */
  attempt: number;
  /** Run seed; the session's randomness derives from (seed, goal index, attempt). */
  seed: number;
}

/** A domain's progress before its first user turn. */
export function newDomainProgress(domain: Session['domains'][number]['domain']): Session['domains'][number] {
  return {
    domain,
    userTurns: 0,
    position: 0,
    carry: [],
    booked: false,
    requested: false,
    noMatchSeen: false,
    changed: false,
  };
}

/** A fresh attempt: reveal plan and persona drawn from the derived seed. */
export function startSession(input: SessionInput, stats: RevealStats): Session {
  const rng = createRng(deriveSeed(input.seed, `${input.goalIndex}/${input.attempt}`));
  const plan = sampleRevealPlan(input.goal, stats, rng);
  const persona = rng.pick(PERSONAS);
  return {
    version: 1,
    goalIndex: input.goalIndex,
    attempt: input.attempt,
    goal: input.goal,
    plan,
    persona,
    rng: rng.state(),
    next: STEP.USER,
    domainIndex: 0,
    domains: input.goal.domains.map((g) => newDomainProgress(g.domain)),
    revealed: [],
    turns: [],
    failures: [],
    usage: emptyUsage(),
  };
}

function addUsage(s: Session, r: Pick<ChatResult, 'usage' | 'costUsd' | 'calls'>): void {
  s.usage.calls += r.calls ?? 1;
  s.usage.promptTokens += r.usage.promptTokens;
  s.usage.completionTokens += r.usage.completionTokens;
  s.usage.costUsd += r.costUsd;
}

function finish(s: Session, reason?: Reason, detail?: string): void {
  if (reason) {
    s.result = { accepted: false, reason };
    if (detail) s.failures.push({ reason, turn: userTurnCount(s), detail });
  } else s.result = { accepted: true };
  s.next = STEP.DONE;
  s.pending = undefined;
}

function userTurnCount(s: Session): number {
  return s.turns.filter((t) => t.speaker === 'USER').length;
}

type StepFn = (s: Session, deps: SimulatorDeps, opts: SimulatorOptions, rng: Rng) => Promise<void>;

/** A real visitor's turn for turns that carry new facts (not a change: its old value matters). */
function realTurnFor(s: Session, move: PendingUserMove, deps: SimulatorDeps): string | undefined {
  if (!deps.retriever || (move.intent !== USER_INTENT.INFORM && move.intent !== USER_INTENT.BOOK))
    return undefined;
  return visitorExample(deps.retriever, move.reveal, `${s.goalIndex}/${s.attempt}/${s.turns.length}`);
}

/** The example line's turn, when `userExamples` is on. */
function exampleFor(s: Session, move: PendingUserMove, deps: SimulatorDeps, opts: SimulatorOptions) {
  return (opts.userExamples ?? USER_EXAMPLES) ? realTurnFor(s, move, deps) : undefined;
}

/**
 * For a turn failed twice, one that passes the checks: a real visitor's turn for the move's facts
 * (inform, book), or the request asked plainly (a request without facts).
 */
function fallbackTurn(s: Session, move: PendingUserMove, deps: SimulatorDeps, opts: SimulatorOptions) {
  if (!(opts.userFallback ?? USER_FALLBACK)) return undefined;
  const plain = move.intent === USER_INTENT.REQUEST && Object.keys(move.reveal).length === 0;
  const example = plain ? plainRequest(move.requests ?? []) : realTurnFor(s, move, deps);
  if (!example || userProblem(s, move, example) || echoOf(example, history(s))) return undefined;
  return example;
}

function userInput(
  s: Session,
  move: PendingUserMove,
  deps: SimulatorDeps,
  opts: SimulatorOptions,
): UserPromptInput {
  const example = exampleFor(s, move, deps, opts);
  return {
    ...(example ? { example } : {}),
    historyLines: opts.userHistoryLines ?? USER_HISTORY_LINES,
    persona: s.persona,
    domain: s.goal.domains[move.domainIndex]?.domain,
    intent: move.intent,
    reveal: move.reveal,
    change: move.change,
    requests: move.requests,
    history: history(s),
  };
}

async function askUser(
  s: Session,
  deps: SimulatorDeps,
  input: UserPromptInput,
  temperature: number | undefined,
) {
  const r = await deps.llm.chat({
    role: ROLE.USER,
    temperature,
    messages: userPrompt(input),
    stop: USER_STOP,
    maxTokens: USER_MAX_TOKENS,
  });
  addUsage(s, r);
  const text = cleanUserUtterance(r.text);
  return r.finishReason === 'length' ? toLastSentence(text) : text;
}

/** The last system turn, if the dialogue ends with one. */
function lastSystemTurn(s: Session): SessionSystemTurn | undefined {
  const last = s.turns[s.turns.length - 1];
  return last?.speaker === 'SYSTEM' ? last : undefined;
}

/** The agent's latest turn, wherever it is (before the visitor's reply, during a system step). */
function previousSystemTurn(s: Session): SessionSystemTurn | undefined {
  return [...s.turns].reverse().find((t): t is SessionSystemTurn => t.speaker === 'SYSTEM');
}

/** The first role problem of a user utterance (roles.ts), if any; repeats are `echoOf`'s. */
export function userProblem(s: Session, move: PendingUserMove, utterance: string): RoleProblem | undefined {
  if (userSpeaksAsAgent(utterance)) return ROLE_PROBLEM.USER_AS_AGENT;
  // Any turn with planned facts, not only the first: the 100-goal run of 2026-12-07 had "Sure."
  // as a later user turn, its booking day and people left unsaid (and so unlabelled).
  const factual = move.intent !== USER_INTENT.GREET && move.intent !== USER_INTENT.END;
  const facts = Object.entries(move.reveal);
  if (factual && isEmptyTurn(facts, (slot, v) => isMentioned(slot, v, utterance)))
    return ROLE_PROBLEM.EMPTY_TURN;
  if (asksAgain(utterance, lastSystemTurn(s)?.told ?? []).length > 0) return ROLE_PROBLEM.ALREADY_ANSWERED;
  return undefined;
}

const userStep: StepFn = async (s, deps, opts) => {
  const planned = planUserMove(s);
  if ('reject' in planned) return finish(s, planned.reject, planned.detail);
  const move = planned.move;
  const input = userInput(s, move, deps, opts);
  const utterance = await askUser(s, deps, input, opts.temperature);
  // A goodbye may well echo the agent's; any other turn that only repeats, or that fails a role
  // check, is asked for once more, as its own step so a crash between the two calls repeats neither.
  const echo = move.intent === USER_INTENT.END ? undefined : echoOf(utterance, input.history);
  const problem = echo ? undefined : userProblem(s, move, utterance);
  s.pending = { ...move, utterance, ...(echo ? { echo } : {}), ...(problem ? { problem } : {}) };
  if (!echo && !problem) return afterUserUtterance(s, opts);
  const detail = echo
    ? `repeated the ${echo === ECHO.AGENT ? "agent's last turn" : 'previous user turn'}: ${utterance}`
    : `${problem}: ${utterance}`;
  s.failures.push({ reason: problem ?? REASON.REPEATED_TURN, turn: userTurnCount(s), detail });
  s.next = STEP.USER_RETRY;
};

const userRetryStep: StepFn = async (s, deps, opts) => {
  const pending = s.pending!;
  const input = userInput(s, pending, deps, opts);
  const before = pending.utterance ?? '';
  const why = pending.problem ? roleNote(pending.problem) : echoNote(pending.echo ?? ECHO.PREVIOUS, before);
  const say = mustMention(input);
  const note = say ? `${why}\n${say}` : why;
  // Hotter than the first try: at the default 0.5 the 1.5B model wrote the same words again.
  pending.utterance = await askUser(s, deps, { ...input, note }, ECHO_RETRY_TEMPERATURE);
  // The checks are not loosened for the retry: a second role problem ends the attempt.
  const again = userProblem(s, pending, pending.utterance);
  if (again) {
    const detail = `${again} again after a retry: ${pending.utterance}`;
    const example = fallbackTurn(s, pending, deps, opts);
    if (!example) return finish(s, again, detail);
    s.failures.push({
      reason: REASON.USER_EXAMPLE,
      turn: userTurnCount(s),
      detail: `${detail} — ${pending.intent === USER_INTENT.REQUEST ? 'asked plainly' : "a real visitor's turn"} instead: ${example}`,
    });
    pending.utterance = example;
  }
  delete pending.problem;
  afterUserUtterance(s, opts);
};

function afterUserUtterance(s: Session, opts: SimulatorOptions): void {
  const pending = s.pending!;
  if (pending.intent === USER_INTENT.GREET || pending.intent === USER_INTENT.END) {
    s.turns.push({
      speaker: 'USER',
      utterance: pending.utterance!,
      intent: pending.intent,
      state: currentState(s),
    });
    s.pending = undefined;
    s.next = STEP.SYSTEM;
    return;
  }
  s.next = (opts.paraphrases ?? 3) > 0 ? STEP.PARAPHRASE : STEP.LABEL;
}

const paraphraseStep: StepFn = async (s, deps, opts, rng) => {
  const pending = s.pending!;
  const original = pending.utterance ?? '';
  const keep = Object.values(pending.reveal);
  const r = await deps.llm.structured({
    role: ROLE.PARAPHRASER,
    temperature: opts.temperature,
    messages: paraphrasePrompt({ utterance: original, keep, count: opts.paraphrases ?? 3 }),
    schema: ParaphraseAnswer,
    schemaName: 'paraphrases',
  });
  addUsage(s, r);
  // A rewrite that lost a value would make the labels wrong; keep the original then.
  const usable = r.value.rewrites.filter((t) => keep.every((v) => t.toLowerCase().includes(v.toLowerCase())));
  pending.utterance = usable.length ? rng.pick(usable) : original;
  s.next = STEP.LABEL;
};

function labelSlots(s: Session, deps: SimulatorDeps, upTo: number) {
  return labelSlotsFor(
    s.goal.domains.slice(0, upTo + 1).map((g) => g.domain),
    deps.ontology,
  );
}

function lastSystemText(s: Session): string {
  const last = s.turns[s.turns.length - 1];
  return last?.speaker === 'SYSTEM' ? last.utterance : '';
}

/**
 * Goal values the user said before the plan got to them — typically the venue the agent just
 * offered ("Sure, Wagamama sounds good"). They are revealed: a state without them would be
 * wrong (MultiWOZ annotators label what the user said). Bare numbers and `dontcare` are left
 * to the plan, since "2" or "any" can belong to any slot.
 */
export function saidEarly(planned: Record<string, string>, utterance: string | undefined): string[] {
  if (!utterance) return [];
  return Object.entries(planned)
    .filter(([slot, v]) => v !== 'dontcare' && !/^\d+$/.test(v) && isMentioned(slot, v, utterance))
    .map(([slot]) => slot);
}

// Domains whose offered venue the user can name (trains are named by id, taxis not at all).
const NAMED_DOMAINS: ReadonlySet<string> = new Set(['hotel', 'restaurant', 'attraction']);

/**
 * `<domain>-name` of the venues the agent offered so far (up to domain `upTo`), for domains
 * whose goal names none: a user who says the offered name has accepted it, and MultiWOZ
 * annotators label it ("I'd like Japanese food at Wagamama" → restaurant-name=wagamama).
 */
export function offeredNames(s: Session, upTo: number): Record<string, string> {
  const out: Record<string, string> = {};
  s.goal.domains.slice(0, upTo + 1).forEach((g, i) => {
    const entity = s.domains[i]?.entity;
    const slot = `${g.domain}-name`;
    if (entity && NAMED_DOMAINS.has(g.domain) && g.constraints[slot] === undefined) out[slot] = entity;
  });
  return out;
}

/**
 * Slots the user changes in this turn: the planned change, and a revealed slot whose planned
 * value differs from the state's (a change the labeller missed before, re-planned: without it,
 * the checks would hold the old value against it for good).
 */
function changedNow(
  move: PendingUserMove,
  previous: Readonly<Record<string, string>>,
  planned: Readonly<Record<string, string>>,
): Set<string> {
  const out = new Set(move.change ? [move.change.slot] : []);
  for (const slot of Object.keys(move.reveal)) {
    const before = previous[slot];
    if (before !== undefined && planned[slot] !== undefined && before !== planned[slot]) out.add(slot);
  }
  return out;
}

const labelStep: StepFn = async (s, deps, opts) => {
  const move = s.pending!;
  const previous = currentState(s);
  const turn = userTurnCount(s);
  const hist = [...history(s), { speaker: 'USER' as const, text: move.utterance ?? '' }];
  // Before goalValues: from the change turn on, the goal holds the changed value.
  const p = s.domains[move.domainIndex]!;
  if (move.change) p.changed = true;
  const planned = { ...offeredNames(s, move.domainIndex), ...goalValues(s, move.domainIndex) };
  const revealed = new Set([
    ...s.revealed,
    ...Object.keys(move.reveal),
    ...saidEarly(planned, move.utterance),
  ]);
  const checked = await labelTurn({
    llm: deps.llm,
    deps: { ontology: deps.ontology, db: deps.db },
    history: hist,
    previous,
    slots: labelSlots(s, deps, move.domainIndex),
    turn,
    systemText: lastSystemText(s),
    plan: {
      goalValues: planned,
      revealed,
      changedNow: changedNow(move, previous, planned),
    },
    options: opts.labeller,
    retriever: deps.retriever,
  });
  addUsage(s, checked.call);
  s.failures.push(...checked.failures);
  // Only goal slots are re-planned: an offered name the labeller missed is not the user's to repeat.
  const g = s.goal.domains[move.domainIndex]!;
  p.carry = checked.missing.filter(
    (slot) => slot.startsWith(`${p.domain}-`) && (g.constraints[slot] ?? g.book[slot]) !== undefined,
  );
  p.userTurns++;
  if (move.position !== undefined) p.position = move.position + 1;
  s.revealed = [...revealed].filter((slot) => slot in checked.state);
  s.domainIndex = move.domainIndex;
  const userTurn: SessionUserTurn = {
    speaker: 'USER',
    utterance: move.utterance ?? '',
    intent: move.intent,
    domain: p.domain,
    state: checked.state,
  };
  s.turns.push(userTurn);
  s.pending = undefined;
  s.next = STEP.SYSTEM;
};

/**
 * A booking confirmation that forgot its reference gets it appended, as MultiWOZ agents say it
 * ("Reference number is : …"): small models confirm the booking but drop the code, and the
 * reference is a database fact, not the model's to invent. Other actions are left as written.
 */
export function withReference(answer: SystemAnswer, reference: string | undefined): SystemAnswer {
  if (answer.action !== 'book' || !reference || answer.utterance.includes(reference)) return answer;
  return { ...answer, utterance: `${answer.utterance.trim()} Your reference number is ${reference}.` };
}

/** The first role problem of an agent utterance (roles.ts), if any. */
export function systemProblem(s: Session, utterance: string): RoleProblem | undefined {
  const lastUser = [...s.turns].reverse().find((t) => t.speaker === 'USER');
  if (agentSpeaksAsUser(utterance) || agentEchoesUser(utterance, lastUser?.utterance))
    return ROLE_PROBLEM.AGENT_AS_USER;
  if (agentRepeats(utterance, previousSystemTurn(s)?.utterance)) return ROLE_PROBLEM.AGENT_REPEAT;
  return undefined;
}

type SystemPlan = ReturnType<typeof planSystemTurn>;

function askSystem(
  s: Session,
  deps: SimulatorDeps,
  opts: SimulatorOptions,
  plan: SystemPlan,
  temperature = opts.temperature,
) {
  return async (msgs: ChatMessage[]): Promise<SystemAnswer> => {
    const r = await deps.llm.structured({
      role: ROLE.SYSTEM,
      temperature,
      messages: msgs,
      schema: SystemAnswer,
      decodingSchema: systemDecodingSchema(plan.input),
      schemaName: 'system_turn',
    });
    addUsage(s, r);
    return withReference(r.value, plan.input.bookingReference);
  };
}

/** The prompt with `note` as the last line of its last message. */
function withNote(messages: ChatMessage[], note: string): ChatMessage[] {
  const last = messages[messages.length - 1]!;
  return [...messages.slice(0, -1), { ...last, content: `${last.content}\n${note}` }];
}

/** The first answer, once more with its problem stated after it. */
function correction(messages: ChatMessage[], answer: SystemAnswer, problem: string): ChatMessage[] {
  return [
    ...messages,
    { role: 'assistant', content: JSON.stringify(answer) },
    { role: 'user', content: `That answer is not allowed: ${problem}. Answer again.` },
  ];
}

const systemStep: StepFn = async (s, deps, opts, rng) => {
  const plan = planSystemTurn(s, deps.db, rng);
  const messages = systemPrompt(plan.input);
  const ask = askSystem(s, deps, opts, plan);
  let answer = await ask(messages);
  let grounded = groundAnswer(plan, answer, deps.db);
  if (!grounded.ok) {
    // One retry with the problem stated, as for invalid JSON; then the attempt fails.
    answer = await ask(correction(messages, answer, grounded.problem));
    grounded = groundAnswer(plan, answer, deps.db);
    if (!grounded.ok) return templated(s, plan, deps, opts, REASON.UNGROUNDED_ENTITY, grounded.problem);
  }
  const problem = systemProblem(s, answer.utterance);
  if (problem) {
    // Asked again as its own step (the per-call save rule), with the same booking reference.
    s.failures.push({ reason: problem, turn: userTurnCount(s), detail: `${problem}: ${answer.utterance}` });
    s.pendingSystem = { answer, problem, reference: plan.input.bookingReference };
    s.next = STEP.SYSTEM_RETRY;
    return;
  }
  commitSystemTurn(s, plan, answer, grounded.entity);
};

/**
 * The agent's turn from the plan (`templateAnswer`) after the LLM failed it twice; the attempt
 * is rejected with `reason` as before when templates are off or the template fails the checks.
 */
function templated(
  s: Session,
  plan: SystemPlan,
  deps: SimulatorDeps,
  opts: SimulatorOptions,
  reason: Reason,
  detail: string,
): void {
  const answer = (opts.agentTemplate ?? AGENT_TEMPLATE) ? templateAnswer(plan.input) : undefined;
  const grounded = answer && groundAnswer(plan, answer, deps.db);
  if (!answer || !grounded?.ok || systemProblem(s, answer.utterance)) return finish(s, reason, detail);
  s.failures.push({
    reason: REASON.AGENT_TEMPLATE,
    turn: userTurnCount(s),
    detail: `${detail} — written from the plan: ${answer.utterance}`,
  });
  s.pendingSystem = undefined;
  commitSystemTurn(s, plan, answer, grounded.entity);
}

const systemRetryStep: StepFn = async (s, deps, opts, rng) => {
  const pending = s.pendingSystem!;
  const plan = planSystemTurn(s, deps.db, rng);
  if (pending.reference !== undefined) plan.input.bookingReference = pending.reference;
  if (pending.problem === ROLE_PROBLEM.AGENT_REPEAT)
    plan.input = awayFromPrevious(plan.input, previousSystemTurn(s));
  // Hotter than the first try, as the user's retry, and without the first answer in the prompt:
  // shown it, at 0.5, the 1.5B model wrote the same words again (see roleNote).
  const ask = askSystem(s, deps, opts, plan, ECHO_RETRY_TEMPERATURE);
  const answer = await ask(withNote(systemPrompt(plan.input), roleNote(pending.problem)));
  const grounded = groundAnswer(plan, answer, deps.db);
  if (!grounded.ok) return templated(s, plan, deps, opts, REASON.UNGROUNDED_ENTITY, grounded.problem);
  const again = systemProblem(s, answer.utterance);
  if (again)
    return templated(s, plan, deps, opts, again, `${again} again after a retry: ${answer.utterance}`);
  s.pendingSystem = undefined;
  commitSystemTurn(s, plan, answer, grounded.entity);
};

// Properties whose values, once the agent said them, the user is not to ask for again. Times
// are left out: "I need to arrive by 11:00?" states a constraint more often than it asks.
const REQUESTABLE = [
  'address',
  'phone',
  'postcode',
  'entrance fee',
  'price',
  'duration',
  'trainid',
  'pricerange',
  'stars',
  'internet',
  'parking',
  'area',
  'food',
  'type',
];

/** REQUESTABLE in the domain's request names: a taxi's `type` is the goal's `car type`. */
function requestableIn(domain: string | undefined): string[] {
  return domain === 'taxi' ? REQUESTABLE.map((r) => (r === 'type' ? 'car type' : r)) : REQUESTABLE;
}

function commitSystemTurn(
  s: Session,
  plan: SystemPlan,
  answer: SystemAnswer,
  entity: string | undefined,
): void {
  const last = s.turns[s.turns.length - 1] as SessionUserTurn;
  const told = toldIn(
    plan.matches.find((e) => plan.domain && entityName(plan.domain, e) === entity),
    requestableIn(plan.domain),
    answer.utterance,
  );
  s.turns.push({
    speaker: 'SYSTEM',
    utterance: answer.utterance,
    action: answer.action,
    entity,
    ...(answer.action === 'request' && answer.slot ? { slot: answer.slot } : {}),
    ...(told.length ? { told } : {}),
  });
  updateProgress(s, plan, answer.action, entity, told);
  if (last.intent === USER_INTENT.END) {
    const n = s.turns.length;
    return n <= 4 ? finish(s, REASON.TOO_SHORT, `${n} turns`) : finish(s);
  }
  s.next = STEP.USER;
}

function updateProgress(
  s: Session,
  plan: SystemPlan,
  action: string,
  entity: string | undefined,
  told: readonly string[],
): void {
  const p = s.domains[s.domainIndex];
  const g = s.goal.domains[s.domainIndex];
  if (!p || !g || !plan.domain) return;
  const domain = plan.domain;
  if (p.entity && !plan.matches.some((e) => entityName(domain, e) === p.entity)) p.entity = undefined;
  if (entity && entity !== p.entity) p.told = [];
  if (entity) p.entity = entity;
  if (told.length) p.told = [...new Set([...(p.told ?? []), ...told])];
  if (action === 'book') p.booked = true;
  if (action === 'answer') p.requested = true;
  if (action === 'no_match' && g.change && !p.changed) p.noMatchSeen = true;
}

const STEPS: Record<Exclude<Session['next'], 'done'>, StepFn> = {
  user: userStep,
  user_retry: userRetryStep,
  system_retry: systemRetryStep,
  paraphrase: paraphraseStep,
  label: labelStep,
  system: systemStep,
};

/**
 * Makes the session's next LLM call and returns the advanced session (the input is not
 * changed). LLM failures other than invalid output propagate, so Temporal retries them.
 */
export async function stepSession(
  session: Session,
  deps: SimulatorDeps,
  opts: SimulatorOptions = {},
): Promise<Session> {
  if (session.next === STEP.DONE) return session;
  const s = structuredClone(session);
  const rng = createRng(s.rng);
  // Per-role accounting, and one KV-cache conversation per (goal, attempt, role) on local models.
  const llm = meteredClient(deps.llm, `${s.goalIndex}/${s.attempt}`, (s.usage.byRole ??= {}));
  try {
    await STEPS[s.next as keyof typeof STEPS](s, { ...deps, llm }, opts, rng);
  } catch (err) {
    if (!(err instanceof InvalidLlmOutputError)) throw err;
    addUsage(s, { usage: err.usage, costUsd: err.costUsd, calls: err.calls });
    finish(s, REASON.INVALID_LLM_OUTPUT, err.reason);
  }
  s.rng = rng.state();
  return s;
}

/** Runs a session to its end; `onStep` sees every intermediate session (to save it). */
export async function runSession(
  session: Session,
  deps: SimulatorDeps,
  opts: SimulatorOptions = {},
  onStep?: (s: Session) => void | Promise<void>,
): Promise<Session> {
  let s = session;
  while (s.next !== STEP.DONE) {
    s = await stepSession(s, deps, opts);
    await onStep?.(s);
  }
  return s;
}

/** The finished attempt as stored and exported. */
export function sessionOutcome(s: Session): DialogueOutcome {
  const fatal: CheckFailure['reason'] | undefined = s.result?.accepted ? undefined : s.result?.reason;
  return {
    accepted: s.result?.accepted ?? false,
    reason: fatal,
    failures: s.failures,
    turns: s.turns.map((t) =>
      t.speaker === 'USER'
        ? {
            speaker: 'USER' as const,
            utterance: t.utterance,
            state: Object.fromEntries(Object.entries(t.state).map(([k, v]) => [k, [v]])),
          }
        : { speaker: 'SYSTEM' as const, utterance: t.utterance, action: t.action, entity: t.entity },
    ),
    services: s.goal.domains.map((g) => g.domain),
    usage: s.usage,
  };
}

export interface GoalResult {
  /** The accepted dialogue, if any attempt passed. */
  accepted?: DialogueOutcome;
  /** Every attempt, in order (the last is the accepted one when there is one). */
  attempts: DialogueOutcome[];
}

/** Up to `maxAttempts` sessions for one goal, stopping at the first accepted. */
export async function simulateGoal(
  input: Omit<SessionInput, 'attempt'>,
  deps: SimulatorDeps,
  opts: SimulatorOptions = {},
): Promise<GoalResult> {
  const attempts: DialogueOutcome[] = [];
  for (let attempt = 1; attempt <= (opts.maxAttempts ?? 3); attempt++) {
    const done = await runSession(startSession({ ...input, attempt }, deps.stats), deps, opts);
    const outcome = sessionOutcome(done);
    attempts.push(outcome);
    if (outcome.accepted) return { accepted: outcome, attempts };
  }
  return { attempts };
}
