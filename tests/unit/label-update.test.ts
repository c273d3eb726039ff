/**
 * The update labeller: `mergeUpdate`'s rules (add, overwrite, `dontcare`, deletion, untouched
 * slots, slot spellings) and `labelTurn` in update mode, with examples from a retriever, on a
 * scripted client.
 */
import { InvalidLlmOutputError, LlmOutputTruncatedError, toTemporalFailure } from '../../llm/errors';
import type { LlmClient, StructuredRequest } from '../../llm/types';
import { loadOntology } from '../../multiwoz/ontology';
import { loadVenueDb } from '../../multiwoz/venues';
import { DEFAULT_LABELLER, labelSlotsFor, labelTurn, mergeUpdate } from '../../simulator/label-turn';
import { BASELINE_LABELLER, labelPrompt } from '../../simulator/prompts';
import { buildTurnRetriever } from '../../simulator/retrieval';
import type { Dialogue } from '../../multiwoz/types';

describe('mergeUpdate', () => {
  const previous = { 'hotel-area': 'north', 'hotel-stars': '4' };

  test('adds new slots and keeps every slot the update does not name', () => {
    expect(mergeUpdate(previous, { 'hotel-pricerange': 'cheap' })).toEqual({
      'hotel-area': 'north',
      'hotel-pricerange': 'cheap',
      'hotel-stars': '4',
    });
  });

  test('an empty update is the previous state', () => {
    expect(mergeUpdate(previous, {})).toEqual(previous);
  });

  test('overwrites a changed value; repeating a value changes nothing', () => {
    expect(mergeUpdate(previous, { 'hotel-area': 'south', 'hotel-stars': '4' })).toEqual({
      'hotel-area': 'south',
      'hotel-stars': '4',
    });
  });

  test('dontcare is a value: it adds, overwrites and is overwritten', () => {
    expect(mergeUpdate(previous, { 'hotel-area': 'dontcare', 'hotel-parking': 'dontcare' })).toEqual({
      'hotel-area': 'dontcare',
      'hotel-parking': 'dontcare',
      'hotel-stars': '4',
    });
    expect(mergeUpdate({ 'hotel-area': 'dontcare' }, { 'hotel-area': 'east' })).toEqual({
      'hotel-area': 'east',
    });
  });

  test('none, "" and not mentioned delete the slot; deleting an absent slot is a no-op', () => {
    expect(mergeUpdate(previous, { 'hotel-area': 'none' })).toEqual({ 'hotel-stars': '4' });
    expect(mergeUpdate(previous, { 'hotel-stars': '', 'hotel-area': 'not mentioned' })).toEqual({});
    expect(mergeUpdate(previous, { 'hotel-name': 'none' })).toEqual(previous);
  });

  test('slot names in any spelling land on the canonical slot; values are trimmed', () => {
    expect(
      mergeUpdate({ 'hotel-book day': 'monday' }, { 'hotel-bookday': ' friday ', 'Hotel-Book People': '2' }),
    ).toEqual({
      'hotel-bookday': 'friday',
      'hotel-bookpeople': '2',
    });
  });

  test('unknown slots pass through for the checks to report (unknown_slot)', () => {
    expect(mergeUpdate({}, { 'hotel-colour': 'blue' })).toEqual({ 'hotel-colour': 'blue' });
  });

  test('pure: the inputs are left as they were', () => {
    const p = { ...previous };
    const u = { 'hotel-area': 'none' };
    mergeUpdate(p, u);
    expect(p).toEqual(previous);
    expect(u).toEqual({ 'hotel-area': 'none' });
  });
});

/** A tiny training "split" for the retriever (hand-made; the retrieval test uses the real one). */
const train: Dialogue[] = [
  {
    id: 'TRAIN1',
    services: ['hotel'],
    turns: [
      {
        speaker: 'USER',
        utterance: 'i need a cheap hotel in the north',
        state: { 'hotel-pricerange': ['cheap'], 'hotel-area': ['north'] },
      },
      { speaker: 'SYSTEM', utterance: 'what star rating would you like ?' },
      {
        speaker: 'USER',
        utterance: 'the star rating does not matter to me',
        state: { 'hotel-pricerange': ['cheap'], 'hotel-area': ['north'], 'hotel-stars': ['dontcare'] },
      },
    ],
  },
];

function scripted(answer: object): LlmClient & { requests: StructuredRequest<unknown>[] } {
  const requests: StructuredRequest<unknown>[] = [];
  return {
    model: 'scripted',
    requests,
    chat: () => Promise.reject(new Error('no chat')),
    structured: <T>(req: StructuredRequest<T>) => {
      requests.push(req as StructuredRequest<unknown>);
      return Promise.resolve({
        value: req.schema.parse(answer),
        text: JSON.stringify(answer),
        usage: { promptTokens: 10, completionTokens: 5 },
        costUsd: 0,
        model: 'scripted',
        finishReason: 'stop' as const,
      });
    },
  };
}

describe('labelTurn in update mode', () => {
  const deps = { ontology: loadOntology(), db: loadVenueDb() };
  const slots = labelSlotsFor(['hotel'], deps.ontology);

  test('the update is merged into the previous state, then checked; the examples are shown', async () => {
    const llm = scripted({ update: { 'hotel-stars': 'dontcare', 'hotel-colour': 'red' } });
    const r = await labelTurn({
      llm,
      deps,
      history: [
        { speaker: 'USER', text: 'I want a cheap hotel in the north.' },
        { speaker: 'SYSTEM', text: 'What star rating would you like?' },
        { speaker: 'USER', text: "The stars don't matter to me." },
      ],
      previous: { 'hotel-pricerange': 'cheap', 'hotel-area': 'north' },
      slots,
      turn: 1,
      systemText: 'What star rating would you like?',
      options: DEFAULT_LABELLER,
      retriever: buildTurnRetriever(train, { split: 'train' }),
    });
    expect(r.update).toEqual({ 'hotel-stars': 'dontcare', 'hotel-colour': 'red' });
    expect(r.raw).toEqual({
      'hotel-area': 'north',
      'hotel-pricerange': 'cheap',
      'hotel-stars': 'dontcare',
      'hotel-colour': 'red',
    });
    expect(r.state).toEqual({
      'hotel-area': 'north',
      'hotel-pricerange': 'cheap',
      'hotel-stars': 'dontcare',
    });
    expect(r.failures.map((f) => f.reason)).toEqual(['unknown_slot']);
    expect(r.examples).toEqual(
      [
        { dialogueId: 'TRAIN1', turn: 1 },
        { dialogueId: 'TRAIN1', turn: 0 },
      ].slice(0, 1),
    );
    const prompt = String(llm.requests[0]!.messages.at(-1)!.content);
    expect(prompt).toContain(
      '[user] the star rating does not matter to me\nAnswer: {"update":{"hotel-stars":"dontcare"}}',
    );
    expect(prompt).toContain('Answer as JSON {"update": {...}}');
    expect(llm.requests[0]!.schemaName).toBe('state_update');
  });

  test('the baseline options give the zero-shot whole-state prompt', async () => {
    const llm = scripted({ state: { 'hotel-area': 'north' } });
    const history = [{ speaker: 'USER' as const, text: 'A hotel in the north, please.' }];
    const r = await labelTurn({
      llm,
      deps,
      history,
      previous: {},
      slots,
      turn: 0,
      systemText: '',
      options: BASELINE_LABELLER,
      retriever: buildTurnRetriever(train, { split: 'train' }),
    });
    expect(r.raw).toEqual({ 'hotel-area': 'north' });
    expect(r.update).toBeUndefined();
    expect(r.examples).toBeUndefined();
    expect(llm.requests[0]!.messages).toEqual(labelPrompt({ history, previous: {}, slots }));
  });
});

describe("an update cut off at the labeller's own bound", () => {
  const deps = { ontology: loadOntology(), db: loadVenueDb() };
  const slots = labelSlotsFor(['hotel'], deps.ontology);
  const cut = new LlmOutputTruncatedError(96, { promptTokens: 300, completionTokens: 96 }, 0, '{"update":{');

  /** Fails the first call with `first`, answers the second; records each request's maxTokens. */
  function cutOnce(first: unknown, second: unknown = undefined) {
    const limits: Array<number | undefined> = [];
    const llm: LlmClient = {
      model: 'scripted',
      chat: () => Promise.reject(new Error('no chat')),
      structured: <T>(req: StructuredRequest<T>) => {
        limits.push(req.maxTokens);
        if (limits.length === 1) return Promise.reject(first);
        if (second !== undefined) return Promise.reject(second);
        const answer = { update: { 'hotel-area': 'north' } };
        return Promise.resolve({
          value: req.schema.parse(answer),
          text: JSON.stringify(answer),
          usage: { promptTokens: 300, completionTokens: 12 },
          costUsd: 0,
          model: 'scripted',
        });
      },
    };
    const input = {
      llm,
      deps,
      history: [{ speaker: 'USER' as const, text: 'A hotel in the north, please.' }],
      previous: {},
      slots,
      turn: 0,
      systemText: '',
      options: { ...DEFAULT_LABELLER, examples: 0 },
    };
    return { input, limits };
  }

  test.each([
    ['thrown plain (local client)', cut],
    ['mapped to its Temporal failure (OpenAI client)', toTemporalFailure(cut)],
  ])('%s: asked once more with twice the room, usage of both calls counted', async (_, first) => {
    const { input, limits } = cutOnce(first);
    const r = await labelTurn(input);
    expect(limits).toEqual([96, 192]);
    expect(r.state).toEqual({ 'hotel-area': 'north' });
    expect(r.call.usage).toEqual({ promptTokens: 600, completionTokens: 108 });
    expect(r.call.calls).toBe(2);
  });

  test('cut off twice: an invalid answer (the attempt is rejected, the run goes on), usage kept', async () => {
    const again = new LlmOutputTruncatedError(192, { promptTokens: 300, completionTokens: 192 }, 0, '{');
    const { input } = cutOnce(cut, toTemporalFailure(again));
    const err = (await labelTurn(input).catch((e: unknown) => e)) as InvalidLlmOutputError;
    expect(err).toBeInstanceOf(InvalidLlmOutputError);
    expect(err.reason).toMatch(/ran past 192 completion tokens twice/);
    expect(err.usage).toEqual({ promptTokens: 600, completionTokens: 288 });
    expect(err.calls).toBe(2);
  });

  test('any other error is not retried here', async () => {
    const { input, limits } = cutOnce(new Error('connection refused'));
    await expect(labelTurn(input)).rejects.toThrow('connection refused');
    expect(limits).toHaveLength(1);
  });
});

describe('label prompt', () => {
  const deps = { ontology: loadOntology() };
  const slots = labelSlotsFor(['hotel'], deps.ontology);
  const history = [
    { speaker: 'USER' as const, text: 'I want a hotel in the north.' },
    { speaker: 'SYSTEM' as const, text: 'Any price range?' },
    { speaker: 'USER' as const, text: 'Cheap, please.' },
  ];
  const examples = [{ system: 'what area ?', user: 'the north please', update: { 'hotel-area': 'north' } }];

  test('stable first: system message and slots do not depend on the turn; examples come after the dialogue', () => {
    const a = labelPrompt({ history: history.slice(0, 1), previous: {}, slots, examples }, DEFAULT_LABELLER);
    const b = labelPrompt(
      { history, previous: { 'hotel-area': 'north' }, slots, examples: [] },
      DEFAULT_LABELLER,
    );
    expect(a[0]).toEqual({ ...b[0], content: a[0]!.content });
    const bodyA = a[1]!.content;
    const bodyB = b[1]!.content;
    // The first prompt up to its last dialogue line is a prefix of the next one (KV-cache reuse).
    const prefix = bodyA.slice(
      0,
      bodyA.indexOf('USER: I want a hotel in the north.') + 'USER: I want a hotel in the north.'.length,
    );
    expect(bodyB.startsWith(prefix)).toBe(true);
    expect(bodyA.indexOf('[user] the north please')).toBeGreaterThan(bodyA.indexOf('Dialogue:'));
    expect(bodyA).toContain('Now the last USER turn of the dialogue above: "I want a hotel in the north."');
    expect(bodyA).not.toMatch(/^USER: the north please/m);
  });

  test('dontcare stated: listed in no slot line, one rule for the waived slot', () => {
    const [system, user] = labelPrompt({ history, previous: {}, slots }, DEFAULT_LABELLER);
    expect(user!.content).toMatch(/^- hotel-area \([^)]*\): centre, east, north, south, west$/m);
    expect(user!.content).not.toContain('dontcare');
    expect(system!.content).toContain('"dontcare" only for the one slot the USER says does not matter');
    const listed = labelPrompt({ history, previous: {}, slots }, BASELINE_LABELLER)[1]!.content;
    expect(listed).toContain('centre, east, north, south, west, dontcare');
  });

  test('the whole-state labeller with stated dontcare swaps only the dontcare rule', () => {
    const stated = labelPrompt(
      { history, previous: {}, slots },
      { ...BASELINE_LABELLER, dontcare: 'stated' },
    )[0]!.content;
    const listed = labelPrompt({ history, previous: {}, slots }, BASELINE_LABELLER)[0]!.content;
    expect(stated).not.toEqual(listed);
    expect(stated).toContain('"dontcare" only for the one slot');
    expect(stated).not.toContain('Write "dontcare" only when');
  });
});
