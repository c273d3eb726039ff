import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { normaliseTradeValue, numberWordTable } from '../../metrics/normalise';
import { parsePredictions, readPredictions } from '../../metrics/predictions';
import { score, type Prediction } from '../../metrics/score';
import { goldAsPredictions } from '../../metrics/write-gold';
import { loadDataset } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';
import type { Convention } from '../../metrics/conventions';
import type { Dialogue } from '../../multiwoz/types';

let test21: Dialogue[];
let oracle: Prediction[];

beforeAll(async () => {
  test21 = await loadDataset({ source: path.join(multiwozDir(), '2.1/test.json.zip'), split: 'test' });
  oracle = goldAsPredictions(test21);
});

/** One real dialogue scored with one turn's prediction replaced by `edit`. */
function scoreEdited(
  convention: Convention,
  id: string,
  turn: number,
  edit: (state: Record<string, string>) => Record<string, string>,
) {
  const gold = test21.filter((d) => d.id === id);
  expect(gold).toHaveLength(1);
  const preds = goldAsPredictions(gold).map((p) =>
    p.turn === turn ? { ...p, state: edit({ ...p.state }) } : p,
  );
  const r = score({ convention, gold, predictions: preds });
  const turns = preds.length;
  // Whether the edited turn was right: all other turns are gold copies.
  return { right: r.jga === 1, wrongTurns: Math.round((1 - r.jga) * turns) };
}

describe('full 2.1 test set', () => {
  test.each(['trade', 'sgd', 'luas'] as const)(
    '%s: oracle scores 1 on 1,000 dialogues / 7,372 turns',
    (c) => {
      const r = score({ convention: c, gold: test21, predictions: oracle });
      expect(r).toMatchObject({ jga: 1, slotAccuracy: 1, slotF1: 1, turns: 7372, dialogues: 1000 });
      expect(r.missingPredictions).toBe(0);
      expect(Object.keys(r.perDomain).sort()).toEqual(['attraction', 'hotel', 'restaurant', 'taxi', 'train']);
    },
  );

  test('empty predictions: JGA is the share of turns with an empty gold state; F1 0', () => {
    const empty = oracle.map((p) => ({ ...p, state: {} }));
    const r = score({ convention: 'sgd', gold: test21, predictions: empty });
    const emptyGold = oracle.filter((p) => Object.keys(p.state).length === 0).length;
    expect(r.jga).toBeCloseTo(emptyGold / 7372, 10);
    expect(r.slotF1).toBe(0);
  });

  test.each(['trade', 'sgd', 'luas'] as const)(
    '%s: every report carries the empty-state floor of its turns, whatever was predicted',
    (c) => {
      const empty = score({ convention: c, gold: test21, predictions: [] });
      expect(empty.emptyStateJga).toBe(empty.jga);
      expect(empty.emptyStateJga).toBeGreaterThan(0);
      expect(score({ convention: c, gold: test21, predictions: oracle }).emptyStateJga).toBe(empty.jga);
    },
  );

  test('missing predictions count as empty states and are reported', () => {
    const dropped = oracle.filter((p) => p.dialogueId !== 'PMUL4648');
    const r = score({ convention: 'trade', gold: test21, predictions: dropped });
    const n = oracle.length - dropped.length;
    expect(r.missingPredictions).toBe(n);
    expect(r.turns).toBe(7372);
    expect(r.jga).toBeLessThan(1);
    const extra = [...oracle, { dialogueId: 'NOPE', turn: 0, state: {} }];
    expect(score({ convention: 'trade', gold: test21, predictions: extra }).unmatchedPredictions).toBe(1);
  });

  test('scores the full test set well under a second', () => {
    const t0 = process.cpuUsage();
    score({ convention: 'trade', gold: test21, predictions: oracle });
    const used = process.cpuUsage(t0);
    expect((used.user + used.system) / 1e6).toBeLessThan(1);
  });
});

describe('conventions on real turns', () => {
  test('guest house: trade normalises guesthouse, sgd and luas do not', () => {
    // MUL0671 user turn 5: hotel-type=guesthouse
    const edit = (s: Record<string, string>) => ({ ...s, 'hotel-type': 'guest house' });
    expect(test21.find((d) => d.id === 'MUL0671')?.turns[10]?.state?.['hotel-type']).toEqual(['guesthouse']);
    expect(scoreEdited('trade', 'MUL0671', 5, edit).right).toBe(true);
    expect(scoreEdited('sgd', 'MUL0671', 5, edit).right).toBe(false);
    expect(scoreEdited('luas', 'MUL0671', 5, edit).right).toBe(false);
  });

  test.each(['center', 'city centre', 'town centre', 'Centre'])('centre: %s = centre under trade', (v) => {
    // PMUL4648 user turn 4: restaurant-area=centre
    const edit = (s: Record<string, string>) => ({ ...s, 'restaurant-area': v });
    expect(scoreEdited('trade', 'PMUL4648', 4, edit).right).toBe(true);
    expect(scoreEdited('sgd', 'PMUL4648', 4, edit).right).toBe(v === 'Centre');
  });

  test('dontcare: a real value for trade and sgd, dropped by luas', () => {
    // PMUL3027 user turn 1: attraction-type=dontcare
    const drop = (s: Record<string, string>) => {
      delete s['attraction-type'];
      return s;
    };
    expect(scoreEdited('trade', 'PMUL3027', 1, drop).right).toBe(false);
    expect(scoreEdited('sgd', 'PMUL3027', 1, drop).right).toBe(false);
    expect(scoreEdited('luas', 'PMUL3027', 1, drop).right).toBe(true);
    for (const v of ["don't care", 'dont care', 'do not care', 'any']) {
      const edit = (s: Record<string, string>) => ({ ...s, 'attraction-type': v });
      expect(scoreEdited('trade', 'PMUL3027', 1, edit).right).toBe(true);
      expect(scoreEdited('sgd', 'PMUL3027', 1, edit).right).toBe(false);
    }
  });

  test('times: 17.15 and 9:30 forms are normalised by trade only', () => {
    // SNG0073 user turn 1: taxi-leaveat=17:15
    const edit = (s: Record<string, string>) => ({ ...s, 'taxi-leaveat': '17.15' });
    expect(scoreEdited('trade', 'SNG0073', 1, edit).right).toBe(true);
    expect(scoreEdited('sgd', 'SNG0073', 1, edit).right).toBe(false);
    const wrong = (s: Record<string, string>) => ({ ...s, 'taxi-leaveat': '17:30' });
    expect(scoreEdited('trade', 'SNG0073', 1, wrong).right).toBe(false);
    expect(normaliseTradeValue('train-leaveat', '9:30')).toBe('09:30');
  });

  test('names with apostrophes: typographic quotes fold, spelling does not', () => {
    // MUL0831 user turn 0: attraction-name=kings college
    const same = (s: Record<string, string>) => ({ ...s, 'attraction-name': 'Kings College' });
    const other = (s: Record<string, string>) => ({ ...s, 'attraction-name': "king's college" });
    expect(scoreEdited('trade', 'MUL0831', 0, same).right).toBe(true);
    expect(scoreEdited('trade', 'MUL0831', 0, other).right).toBe(false);
    expect(normaliseTradeValue('attraction-name', 'Christ\u2019s College')).toBe("christ's college");
  });

  test('free internet is yes, number words are digits (mapping.pair)', () => {
    // MUL2665 user turn 0: hotel-internet=free; MUL2499 turn 2: restaurant-bookpeople=8
    expect(scoreEdited('trade', 'MUL2665', 0, (s) => ({ ...s, 'hotel-internet': 'yes' })).right).toBe(true);
    expect(scoreEdited('sgd', 'MUL2665', 0, (s) => ({ ...s, 'hotel-internet': 'yes' })).right).toBe(false);
    expect(
      scoreEdited('trade', 'MUL2499', 2, (s) => ({ ...s, 'restaurant-bookpeople': 'eight' })).right,
    ).toBe(true);
    expect(numberWordTable().get('twelve')).toBe('12');
  });

  test('typos and empty spellings', () => {
    expect(normaliseTradeValue('attraction-type', 'mutliple sports')).toBe('multiple sports');
    expect(normaliseTradeValue('attraction-type', 'swimmingpool')).toBe('swimming pool');
    expect(normaliseTradeValue('attraction-type', 'concerthall')).toBe('concert hall');
    expect(normaliseTradeValue('attraction-type', 'night club')).toBe('nightclub');
    expect(normaliseTradeValue('attraction-type', 'musuem')).toBe('museum');
    expect(normaliseTradeValue('hotel-area', 'not mentioned')).toBe('');
    expect(normaliseTradeValue('hotel-area', 'none')).toBe('');
  });

  test('sgd accepts any listed surface form; luas only the first', () => {
    const gold: Dialogue[] = [
      {
        id: 'X1',
        services: ['restaurant'],
        turns: [{ speaker: 'USER', utterance: 'hi', state: { 'restaurant-area': ['centre', 'center'] } }],
      },
    ];
    const pred = [{ dialogueId: 'X1', turn: 0, state: { 'restaurant-area': 'center' } }];
    expect(score({ convention: 'sgd', gold, predictions: pred }).jga).toBe(1);
    expect(score({ convention: 'luas', gold, predictions: pred }).jga).toBe(0);
    expect(score({ convention: 'trade', gold, predictions: pred }).jga).toBe(1);
  });

  test('slot accuracy and F1 by hand', () => {
    const gold: Dialogue[] = [
      {
        id: 'X2',
        services: ['hotel'],
        turns: [
          { speaker: 'USER', utterance: 'x', state: { 'hotel-area': ['north'], 'hotel-stars': ['4'] } },
        ],
      },
    ];
    // one right, one wrong value, one extra slot
    const pred = [
      {
        dialogueId: 'X2',
        turn: 0,
        state: { 'hotel-area': 'north', 'hotel-stars': '3', 'hotel-type': 'hotel' },
      },
    ];
    const r = score({ convention: 'trade', gold, predictions: pred });
    expect(r.jga).toBe(0);
    expect(r.slotAccuracy).toBeCloseTo(28 / 30, 10);
    // tp 1, fp 2, fn 1
    expect(r.slotF1).toBeCloseTo(2 / 5, 10);
    expect(r.perDomain.hotel).toEqual({ jga: 0, turns: 1 });
  });
});

describe('prediction files', () => {
  test('ids with .json, both slot spellings, list values', () => {
    const preds = parsePredictions(
      [
        '{"dialogue_id": "PMUL4648.json", "turn": 0, "state": {"hotel-book day": "friday", "hotel-bookpeople": ["2"]}}',
        '',
        '{"dialogue_id": "PMUL4648", "turn": 1, "state": {"train-leaveAt": "10:00", "hotel-area": ""}}',
      ].join('\n'),
    );
    expect(preds).toEqual([
      { dialogueId: 'PMUL4648', turn: 0, state: { 'hotel-bookday': 'friday', 'hotel-bookpeople': '2' } },
      { dialogueId: 'PMUL4648', turn: 1, state: { 'train-leaveat': '10:00' } },
    ]);
  });

  test('a bad line fails with file and line number', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'preds-'));
    const file = path.join(dir, 'p.jsonl');
    writeFileSync(
      file,
      '{"dialogue_id":"A","turn":0,"state":{}}\n{"dialogue_id":"A","turn":"x","state":{}}\n',
    );
    await expect(readPredictions(file)).rejects.toThrow(`${file}:2: turn:`);
    writeFileSync(file, '{oops\n');
    await expect(readPredictions(file)).rejects.toThrow(`${file}:1: not JSON`);
    await expect(readPredictions(path.join(dir, 'missing.jsonl'))).rejects.toThrow(
      'cannot read predictions: ENOENT',
    );
  });
});
