/**
 * The labeller's example retriever (`simulator/retrieval.ts`) on the real offline MultiWOZ 2.1
 * files: it indexes the training split only, never returns a dev or test dialogue (queried with
 * the real test turns the audit labels), and ranks the obvious match first.
 */
import path from 'node:path';
import { loadDataset, loadSplitList } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';
import type { Dialogue } from '../../multiwoz/types';
import {
  buildTurnRetriever,
  loadTurnRetriever,
  stateUpdate,
  tokens,
  type TurnRetriever,
} from '../../simulator/retrieval';

const DIR = path.join(multiwozDir(), '2.1');
let retriever: TurnRetriever;
let testIds: Set<string>;
let devIds: Set<string>;
let testDialogues: Dialogue[];

beforeAll(async () => {
  retriever = await loadTurnRetriever();
  testIds = new Set(await loadSplitList(path.join(DIR, 'testListFile')));
  devIds = new Set(await loadSplitList(path.join(DIR, 'valListFile')));
  testDialogues = (await loadDataset({ source: path.join(DIR, 'test.json.zip'), split: 'test' })).slice(
    0,
    40,
  );
}, 60_000);

test('the index holds the training split and no dialogue of the dev or test lists', () => {
  expect(retriever.split).toBe('train');
  expect(retriever.size).toBeGreaterThan(50_000);
  expect(testIds.size).toBe(1000);
  for (const id of [...testIds, ...devIds]) expect(retriever.hasDialogue(id)).toBe(false);
  expect(retriever.hasDialogue('PMUL4648')).toBe(false); // the audit's second test dialogue
});

test('retrieval never returns a test-split turn, for every turn of 40 real test dialogues', () => {
  let returned = 0;
  for (const d of testDialogues) {
    let system = '';
    for (const t of d.turns) {
      if (t.speaker === 'SYSTEM') {
        system = t.utterance;
        continue;
      }
      // The exact test utterance as the query: a leaked copy would be the best match.
      for (const r of retriever.search({ system, user: t.utterance }, 10)) {
        returned++;
        expect(testIds.has(r.dialogueId)).toBe(false);
        expect(devIds.has(r.dialogueId)).toBe(false);
      }
    }
  }
  expect(returned).toBeGreaterThan(2000);
});

test('only a training split can be indexed', () => {
  expect(() => buildTurnRetriever(testDialogues, { split: 'test' })).toThrow(/training split only/);
  expect(() => buildTurnRetriever(testDialogues, { split: 'dev' })).toThrow(/training split only/);
  expect(() => buildTurnRetriever(testDialogues, { split: undefined })).toThrow(/training split only/);
});

const tiny: Dialogue[] = [
  {
    id: 'A',
    services: ['hotel'],
    turns: [
      {
        speaker: 'USER',
        utterance: 'I need a cheap hotel in the north',
        state: { 'hotel-pricerange': ['cheap'], 'hotel-area': ['north'] },
      },
      { speaker: 'SYSTEM', utterance: 'Do you need parking?' },
      {
        speaker: 'USER',
        utterance: 'Yes, free parking please',
        state: { 'hotel-pricerange': ['cheap'], 'hotel-area': ['north'], 'hotel-parking': ['yes'] },
      },
    ],
  },
  {
    id: 'B',
    services: ['train'],
    turns: [
      {
        speaker: 'USER',
        utterance: 'A train to cambridge on friday',
        state: { 'train-destination': ['cambridge'], 'train-day': ['friday'] },
      },
      { speaker: 'SYSTEM', utterance: 'Where from?' },
      {
        speaker: 'USER',
        utterance: 'From london, thanks',
        state: {
          'train-destination': ['cambridge'],
          'train-day': ['friday'],
          'train-departure': ['london kings cross'],
        },
      },
    ],
  },
];

test('BM25: the matching turn first, with its gold update; one per dialogue; domain filter; exclusion', () => {
  const r = buildTurnRetriever(tiny, { split: 'train' });
  // "From london" does not say `london kings cross`: that turn is no example (see the next test).
  expect(r.size).toBe(3);
  const [best] = r.search({ system: '', user: 'cheap hotel up north' }, 2);
  expect(best).toMatchObject({
    dialogueId: 'A',
    turn: 0,
    update: { 'hotel-pricerange': 'cheap', 'hotel-area': 'north' },
  });
  const parking = r.search({ system: 'Do you need parking?', user: 'yes free parking' }, 5);
  expect(parking.map((x) => [x.dialogueId, x.turn])).toEqual([['A', 1]]);
  expect(parking[0]!.update).toEqual({ 'hotel-parking': 'yes' });
  expect(
    r
      .search({ system: '', user: 'train on friday, cheap hotel' }, 5)
      .map((x) => x.dialogueId)
      .sort(),
  ).toEqual(['A', 'B']);
  expect(
    r
      .search({ system: '', user: 'train on friday, cheap hotel', domains: ['hotel'] }, 5)
      .map((x) => x.dialogueId),
  ).toEqual(['A']);
  expect(r.search({ system: '', user: 'cheap hotel', excludeDialogue: 'A' }, 5)).toEqual([]);
  expect(r.search({ system: '', user: 'cheap hotel' }, 0)).toEqual([]);
  // Deterministic: the same query gives the same answer.
  expect(r.search({ system: 'x', user: 'friday cambridge' }, 3)).toEqual(
    r.search({ system: 'x', user: 'friday cambridge' }, 3),
  );
});

test('turns whose update carries a value nobody said are left out, unless asked', () => {
  const clean = buildTurnRetriever(tiny, { split: 'train' });
  const all = buildTurnRetriever(tiny, { split: 'train', mentionedOnly: false });
  expect(all.size).toBe(4);
  expect(
    clean.search({ system: 'Where from?', user: 'From london, thanks' }, 5).map((x) => x.turn),
  ).not.toContain(1);
  expect(all.search({ system: 'Where from?', user: 'From london, thanks' }, 1)[0]).toMatchObject({
    dialogueId: 'B',
    turn: 1,
    update: { 'train-departure': 'london kings cross' },
  });
});

test('stateUpdate and tokens', () => {
  expect(stateUpdate({ a: '1', b: '2' }, { a: '1', b: '3', c: '4' })).toEqual({ b: '3', c: '4' });
  expect(tokens("I'd like the Cambridge  Belfry, please!")).toEqual(['id', 'like', 'cambridge', 'belfry']);
});

test("the index gives the training annotators' spelling of values the labeller writes otherwise", () => {
  // The spellings the 2026-12-06 audit found wrong (test gold uses the annotators' spelling).
  expect(retriever.spelling('restaurant-name', 'the copper kettle')).toBe('copper kettle');
  expect(retriever.spelling('taxi-destination', 'pizza hut fen ditton')).toBe('pizza hut fenditton');
  expect(retriever.spelling('taxi-departure', "saint john's college")).toBe('saint johns college');
  expect(retriever.spelling('hotel-type', 'Guest House')).toBe('guest house');
  expect(retriever.spelling('restaurant-name', 'a venue nobody annotated')).toBeUndefined();
});
