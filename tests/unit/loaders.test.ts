import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AdmZip from 'adm-zip';
import { DataFormatError, loadDataset, loadSplitList } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';
import type { Dialogue } from '../../multiwoz/types';

const mw = multiwozDir();
const fixtures22 = path.resolve(__dirname, '../fixtures/multiwoz22');
const starZip = path.join(mw, '2.1/train-dev-test.star-tsv.zip');

const userTurns = (ds: Dialogue[]) =>
  ds.reduce((n, d) => n + d.turns.filter((t) => t.speaker === 'USER').length, 0);
const byId = (ds: Dialogue[], id: string) => {
  const d = ds.find((x) => x.id === id);
  if (!d) throw new Error(`${id} not loaded`);
  return d;
};
const userStates = (d: Dialogue) => d.turns.filter((t) => t.speaker === 'USER').map((t) => t.state);

describe('2.1 data.json layout (real ConvLab split zips)', () => {
  let testSet: Dialogue[];
  beforeAll(async () => {
    const t0 = performance.now();
    testSet = await loadDataset({
      dataset: 'multiwoz21',
      source: path.join(mw, '2.1/test.json.zip'),
      split: 'test',
    });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  test('test zip: 1,000 dialogues, 7,372 user turns, alternating turns', () => {
    expect(testSet).toHaveLength(1000);
    expect(userTurns(testSet)).toBe(7372);
    for (const d of testSet) d.turns.forEach((t, i) => expect(t.speaker).toBe(i % 2 ? 'SYSTEM' : 'USER'));
  });

  test('PMUL4648: state after user turn i is the metadata of log[2i+1]', () => {
    const d = byId(testSet, 'PMUL4648');
    expect(d.turns).toHaveLength(20);
    expect(d.turns[0]).toEqual({
      speaker: 'USER',
      utterance: 'Please find a restaurant called Nusha .',
      state: {},
    });
    const states = userStates(d);
    expect(states[2]).toEqual({ 'attraction-name': ['nusha'] });
    // Values stay as written (no normalisation): `centre`, `saffron brasserie`.
    expect(states[9]).toEqual({
      'attraction-name': ['nusha'],
      'restaurant-food': ['indian'],
      'restaurant-pricerange': ['expensive'],
      'restaurant-name': ['saffron brasserie'],
      'restaurant-area': ['centre'],
    });
    expect(d.services).toEqual(['attraction', 'restaurant']);
    expect(d.goal).toHaveProperty('attraction');
  });

  test('book slots and camelCase names become canonical; booked is ignored', () => {
    const slots = new Set(testSet.flatMap((d) => userStates(d).flatMap((s) => Object.keys(s ?? {}))));
    for (const s of [
      'hotel-bookday',
      'hotel-bookpeople',
      'train-leaveat',
      'taxi-arriveby',
      'restaurant-pricerange',
    ])
      expect(slots.has(s)).toBe(true);
    for (const s of slots) expect(s).toMatch(/^[a-z]+-[a-z]+$/);
    expect(slots.has('hotel-bookbooked')).toBe(false);
    const values = testSet.flatMap((d) => userStates(d).flatMap((s) => Object.values(s ?? {}).flat()));
    expect(values).not.toContain('not mentioned');
    expect(values).not.toContain('');
    expect(values).toContain('dontcare');
  });

  test('val zip: 999 dialogues (PMUL4707 is missing from this copy)', async () => {
    const dev = await loadDataset({
      dataset: 'multiwoz21',
      source: path.join(mw, '2.1/val.json.zip'),
      split: 'dev',
    });
    expect(dev).toHaveLength(999);
    expect(dev.some((d) => d.id === 'PMUL4707')).toBe(false);
  });

  test('a split file refuses another split', async () => {
    await expect(
      loadDataset({ dataset: 'multiwoz21', source: path.join(mw, '2.1/val.json.zip'), split: 'test' }),
    ).rejects.toThrow(/no test split/);
  });

  test('loadSplitList reads the official lists without .json', async () => {
    const ids = await loadSplitList(path.join(mw, '2.1/testListFile'));
    expect(ids).toHaveLength(1000);
    expect(new Set(ids)).toEqual(new Set(testSet.map((d) => d.id)));
  });
});

describe('full data.json + list files (as in MULTIWOZ2.4.zip)', () => {
  let dir: string;
  let zipPath: string;
  beforeAll(() => {
    // Rebuild the official zip shape from real dialogues: 3 test, 2 val, 4 train.
    dir = mkdtempSync(path.join(os.tmpdir(), 'mwz-datajson-'));
    const src = new AdmZip(path.join(mw, '2.1/test.json.zip'));
    const real = JSON.parse(src.getEntries()[0]!.getData().toString('utf8')) as Record<string, unknown>;
    const ids = Object.keys(real).slice(0, 9);
    const data = Object.fromEntries(ids.map((id) => [`${id}.json`, real[id]]));
    const zip = new AdmZip();
    zip.addFile('MULTIWOZ2.4/data.json', Buffer.from(JSON.stringify(data)));
    zip.addFile(
      'MULTIWOZ2.4/testListFile.json',
      Buffer.from(
        ids
          .slice(0, 3)
          .map((i) => `${i}.json`)
          .join('\n') + '\n',
      ),
    );
    zip.addFile(
      'MULTIWOZ2.4/valListFile.json',
      Buffer.from(
        ids
          .slice(3, 5)
          .map((i) => `${i}.json`)
          .join('\n') + '\n',
      ),
    );
    zipPath = path.join(dir, 'MULTIWOZ2.4.zip');
    zip.writeZip(zipPath);
    mkdirSync(path.join(dir, 'loose'));
    writeFileSync(path.join(dir, 'loose/data.json'), JSON.stringify(data));
    writeFileSync(path.join(dir, 'loose/testListFile.txt'), ids.slice(0, 3).join('\n'));
    writeFileSync(path.join(dir, 'loose/valListFile.txt'), ids.slice(3, 5).join('\n'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['test', 3],
    ['dev', 2],
    ['train', 4],
  ] as const)('zip split %s selects by list file', async (split, n) => {
    const ds = await loadDataset({ dataset: 'multiwoz24', source: zipPath, split });
    expect(ds).toHaveLength(n);
    expect(ds[0]!.id).not.toMatch(/\.json$/);
  });

  test('a folder holding the zip, and a loose data.json file, work too', async () => {
    expect(await loadDataset({ dataset: 'multiwoz24', source: dir, split: 'train' })).toHaveLength(4);
    // No split: the whole data.json in file order.
    expect((await loadDataset({ dataset: 'multiwoz24', source: zipPath })).length).toBe(9);
    expect(
      await loadDataset({ dataset: 'multiwoz24', source: path.join(dir, 'loose/data.json'), split: 'dev' }),
    ).toHaveLength(2);
    expect(
      await loadDataset({ dataset: 'multiwoz24', source: path.join(dir, 'loose/data.json') }),
    ).toHaveLength(9);
  });

  test('the 2.2 dataset name is refused for a data.json source', async () => {
    await expect(loadDataset({ dataset: 'multiwoz22', source: zipPath, split: 'test' })).rejects.toThrow(
      /data-json layout, which is not a multiwoz22 source/,
    );
  });
});

describe('2.1 DST-STAR TSV (offline train split)', () => {
  let train: Dialogue[];
  beforeAll(async () => {
    train = await loadDataset({ dataset: 'multiwoz21', source: starZip, split: 'train' });
  });

  test('train: 7,904 dialogues, 54,984 user turns', () => {
    expect(train).toHaveLength(7904);
    expect(userTurns(train)).toBe(54984);
    expect(train[0]!.id).toBe('SNG01856');
  });

  test('value recoding is undone', () => {
    const values = (slot: string) =>
      new Set(train.flatMap((d) => userStates(d).flatMap((s) => s?.[slot] ?? [])));
    expect(values('hotel-parking')).toEqual(new Set(['yes', 'no', 'dontcare']));
    expect(values('hotel-internet')).toEqual(new Set(['yes', 'no', 'dontcare']));
    // `a|b` alternatives are kept as written (metrics decide); train has `hotel|guest house`.
    expect(values('hotel-type')).toEqual(new Set(['hotel', 'guest house', 'dontcare', 'hotel|guest house']));
    const all = new Set(train.flatMap((d) => userStates(d).flatMap((s) => Object.values(s ?? {}).flat())));
    expect(all.has('do not care')).toBe(false);
    expect(all.has('none')).toBe(false);
  });

  test('SNG01856: system response of row t precedes user turn t', () => {
    const d = byId(train, 'SNG01856');
    expect(d.turns[0]).toMatchObject({
      speaker: 'USER',
      state: { 'hotel-pricerange': ['cheap'], 'hotel-type': ['hotel'] },
    });
    expect(d.turns[1]).toEqual({
      speaker: 'SYSTEM',
      utterance: 'okay , do you have a specific area you want to stay in ?',
    });
    expect(d.turns[2]!.state).toEqual({
      'hotel-parking': ['yes'],
      'hotel-pricerange': ['cheap'],
      'hotel-type': ['hotel'],
    });
    expect(d.turns[4]!.state).toMatchObject({
      'hotel-bookday': ['tuesday'],
      'hotel-bookpeople': ['6'],
      'hotel-bookstay': ['3'],
    });
  });

  test('dev and test files of the same zip', async () => {
    const dev = await loadDataset({ dataset: 'multiwoz21', source: starZip, split: 'dev' });
    const tst = await loadDataset({ dataset: 'multiwoz21', source: starZip, split: 'test' });
    expect([dev.length, userTurns(dev)]).toEqual([1000, 7371]);
    expect([tst.length, userTurns(tst)]).toEqual([999, 7368]);
    expect(tst.some((d) => d.id === 'PMUL1455')).toBe(false);
  });

  test('the 2.1 folder falls back to the TSV for train', async () => {
    expect(
      await loadDataset({ dataset: 'multiwoz21', source: path.join(mw, '2.1'), split: 'train' }),
    ).toHaveLength(7904);
  });
});

describe('2.4 IC-DST per-turn sample', () => {
  test('100 dialogues, 731 turns, utterances rebuilt from history', async () => {
    const ds = await loadDataset({
      dataset: 'multiwoz24',
      source: path.join(mw, '2.4/dev-10pct.icdst.json'),
      split: 'dev',
    });
    expect(ds).toHaveLength(100);
    expect(userTurns(ds)).toBe(731);
    const d = byId(ds, 'PMUL4053');
    expect(d.services).toEqual(['restaurant', 'attraction']);
    expect(d.turns.slice(0, 2)).toEqual([
      {
        speaker: 'USER',
        utterance: 'i am looking for a italian restaurant centre .',
        state: { 'restaurant-food': ['italian'], 'restaurant-area': ['centre'] },
      },
      {
        speaker: 'SYSTEM',
        utterance: 'there are 9 restaurant -s that fit your request . what is your price range ?',
      },
    ]);
    expect(d.turns[2]!.state).toEqual({
      'restaurant-food': ['italian'],
      'restaurant-pricerange': ['dontcare'],
      'restaurant-area': ['centre'],
    });
    for (const x of ds) x.turns.forEach((t, i) => expect(t.speaker).toBe(i % 2 ? 'SYSTEM' : 'USER'));
  });
});

describe('2.2 schema-guided layout (hand-made fixtures)', () => {
  test('splits of a release folder', async () => {
    const ids = async (split?: 'train' | 'dev' | 'test') =>
      (await loadDataset({ dataset: 'multiwoz22', source: fixtures22, split })).map((d) => d.id);
    expect(await ids('train')).toEqual(['FIX0201', 'FIX0202']);
    expect(await ids('dev')).toEqual(['FIX0101']);
    expect(await ids('test')).toEqual(['FIX0001', 'FIX0002']);
    expect(await ids()).toEqual(['FIX0201', 'FIX0202', 'FIX0101', 'FIX0001', 'FIX0002']);
  });

  test('multi-value lists, merged frames, intents and requested slots', async () => {
    const [d] = await loadDataset({
      dataset: 'multiwoz22',
      source: path.join(fixtures22, 'test/dialogues_001.json'),
    });
    expect(d!.services).toEqual(['hotel', 'taxi']);
    expect(d!.turns[0]).toMatchObject({
      state: {
        'hotel-area': ['centre', 'center'],
        'hotel-parking': ['yes'],
        'hotel-type': ['guesthouse', 'guest house'],
      },
      activeIntents: { hotel: 'find_hotel' },
      requestedSlots: [],
    });
    expect(d!.turns[1]).toEqual({
      speaker: 'SYSTEM',
      utterance: 'Alexander Bed and Breakfast fits. Shall I book it?',
    });
    expect(d!.turns[2]).toMatchObject({
      state: {
        'hotel-pricerange': ['dontcare'],
        'taxi-leaveat': ['17:00', '5pm'],
        'taxi-destination': ['alexander bed and breakfast'],
      },
      activeIntents: { hotel: 'find_hotel', taxi: 'find_taxi' },
      requestedSlots: ['hotel-phone'],
    });
  });

  test('a 2.2 file is refused under another dataset name or split', async () => {
    const file = path.join(fixtures22, 'test/dialogues_001.json');
    await expect(loadDataset({ dataset: 'multiwoz21', source: file })).rejects.toThrow(
      /multiwoz22 layout, which is not a multiwoz21 source/,
    );
    await expect(loadDataset({ dataset: 'multiwoz22', source: file, split: 'dev' })).rejects.toThrow(
      /holds the test split, not dev/,
    );
  });
});

describe('malformed sources', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'mwz-bad-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const sys = (text: string, area: unknown) => ({
    text,
    metadata: { hotel: { semi: { area }, book: { booked: [], day: '' } } },
  });

  const cases: Array<[string, string, string, RegExp]> = [
    ['bad JSON', 'broken.json', '{"a": ', /broken\.json: JSON: /],
    ['unknown layout', 'other.json', '{"x": {"y": 1}}', /other\.json: top level: unknown layout/],
    [
      'data.json value of the wrong type',
      'data.json',
      JSON.stringify({
        'OK01.json': { log: [{ text: 'hi' }, sys('ok', 'north')] },
        'BAD02.json': { log: [{ text: 'hi' }, sys('ok', 7)] },
      }),
      /data\.json: dialogue BAD02: log\.1\.metadata\.hotel\.semi\.area: .*string/,
    ],
    [
      'data.json odd log',
      'odd.json',
      JSON.stringify({ 'ODD1.json': { log: [{ text: 'a' }, sys('b', ''), { text: 'c' }] } }),
      /odd\.json: dialogue ODD1: log has 3 entries/,
    ],
    [
      'IC-DST record without history',
      'x.icdst.json',
      JSON.stringify([{ ID: 'A.json', turn_id: 0, dialog: { sys: [''] }, slot_values: {} }]),
      /x\.icdst\.json: record 0 \(ID A\.json\): dialog\.usr: /,
    ],
    [
      '2.2 speaker order',
      'dialogues_009.json',
      JSON.stringify([
        { dialogue_id: 'D1.json', services: [], turns: [{ speaker: 'SYSTEM', utterance: 'hi', frames: [] }] },
      ]),
      /dialogues_009\.json: dialogue D1\.json: turns\.0\.speaker is SYSTEM, expected USER/,
    ],
  ];
  test.each(cases)('%s names the file and record', async (_label, name, text, message) => {
    const file = write(name, text);
    const err = await loadDataset({
      dataset: name.startsWith('dialogues') ? 'multiwoz22' : 'multiwoz21',
      source: file,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataFormatError);
    expect((err as Error).message).toMatch(message);
  });

  test('STAR TSV with a short row names the line', async () => {
    const header = [
      '# Dialogue ID',
      'Turn Index',
      'Last Turn',
      'System Response',
      'User Utterance',
      'hotel-area',
      '',
    ].join('\t');
    const file = write('dev.tsv', `${header}\nA.json\t0\tFalse\t\thi\tnorth\nA.json\t1\tTrue\tok\n`);
    await expect(loadDataset({ dataset: 'multiwoz21', source: file, split: 'dev' })).rejects.toThrow(
      /dev\.tsv: line 3: expected 6 tab-separated columns, got 4/,
    );
  });

  test('missing source and empty folder', async () => {
    await expect(loadDataset({ dataset: 'multiwoz21', source: path.join(dir, 'nope') })).rejects.toThrow(
      /no such file or folder/,
    );
    const empty = mkdtempSync(path.join(dir, 'empty-'));
    await expect(loadDataset({ dataset: 'multiwoz21', source: empty, split: 'test' })).rejects.toThrow(
      /no test split found/,
    );
  });
});
