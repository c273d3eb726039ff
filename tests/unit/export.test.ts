import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toDataJson, toMultiwoz22, writeExport } from '../../multiwoz/export';
import { loadDataset } from '../../multiwoz/loaders';
import { multiwozDir } from '../../multiwoz/paths';
import type { Dialogue, DialogueState, Turn } from '../../multiwoz/types';

const mw = multiwozDir();

const speakersAndText = (d: Dialogue) => d.turns.map((t) => [t.speaker, t.utterance]);
const userStates = (d: Dialogue) => d.turns.filter((t) => t.speaker === 'USER').map((t) => t.state ?? {});
const firstValues = (s: DialogueState) =>
  Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.slice(0, 1)]));

// A made-up dialogue using what only 2.2 can hold: several values per slot, intents,
// requested slots, and a last turn by the user.
const rich: Dialogue = {
  id: 'GEN0001',
  services: ['hotel', 'taxi'],
  turns: [
    {
      speaker: 'USER',
      utterance: 'A guesthouse in the centre, please.',
      state: { 'hotel-area': ['centre', 'center'], 'hotel-type': ['guesthouse', 'guest house'] },
      activeIntents: { hotel: 'find_hotel' },
      requestedSlots: [],
    },
    { speaker: 'SYSTEM', utterance: 'Alexander Bed and Breakfast fits.' },
    {
      speaker: 'USER',
      utterance: 'Its phone? And a taxi there at 5pm for 2 nights from Monday.',
      state: {
        'hotel-area': ['centre', 'center'],
        'hotel-type': ['guesthouse', 'guest house'],
        'hotel-bookday': ['monday'],
        'hotel-bookstay': ['2'],
        'taxi-leaveat': ['17:00', '5pm'],
        'taxi-destination': ['alexander bed and breakfast'],
      },
      activeIntents: { hotel: 'book_hotel', taxi: 'find_taxi' },
      requestedSlots: ['hotel-phone', 'taxi-phone'],
    },
  ],
};

describe('export round trips', () => {
  let real: Dialogue[];
  let dir: string;
  beforeAll(async () => {
    const all = await loadDataset({ dataset: 'multiwoz21', source: path.join(mw, '2.1/test.json.zip') });
    real = all.slice(0, 50);
    dir = mkdtempSync(path.join(os.tmpdir(), 'mwz-export-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('real 2.1 dialogues → 2.2 files → loader: same turns, states and services', async () => {
    const out = path.join(dir, 'a');
    const files = await writeExport({ dialogues: real, outDir: out, layouts: ['multiwoz22'], split: 'test' });
    expect(files.map((f) => path.relative(out, f))).toEqual([
      'multiwoz22/test/dialogues_001.json',
      'multiwoz22/schema.json',
    ]);
    const back = await loadDataset({
      dataset: 'multiwoz22',
      source: path.join(out, 'multiwoz22'),
      split: 'test',
    });
    expect(back.map((d) => d.id)).toEqual(real.map((d) => d.id));
    back.forEach((d, i) => {
      const src = real[i]!;
      expect(speakersAndText(d)).toEqual(speakersAndText(src));
      expect(userStates(d)).toEqual(userStates(src));
      expect(d.services).toEqual(src.services);
    });
  });

  test('2.2 files look like the release: .json ids, a frame per service, bare system frames', () => {
    const [d] = toMultiwoz22([real.find((x) => x.id === 'PMUL4648')!]);
    expect(d!.dialogue_id).toBe('PMUL4648.json');
    expect(d!.services).toEqual(['attraction', 'restaurant']);
    const [user, system] = d!.turns;
    expect(user).toMatchObject({ turn_id: '0', speaker: 'USER' });
    expect(user!.frames).toEqual([
      {
        actions: [],
        service: 'attraction',
        slots: [],
        state: { active_intent: 'NONE', requested_slots: [], slot_values: {} },
      },
      {
        actions: [],
        service: 'restaurant',
        slots: [],
        state: { active_intent: 'NONE', requested_slots: [], slot_values: {} },
      },
    ]);
    expect(system!.frames).toEqual([
      { actions: [], service: 'attraction', slots: [] },
      { actions: [], service: 'restaurant', slots: [] },
    ]);
    expect(d!.turns[18]!.frames[1]!.state!.slot_values).toEqual({
      'restaurant-food': ['indian'],
      'restaurant-pricerange': ['expensive'],
      'restaurant-name': ['saffron brasserie'],
      'restaurant-area': ['centre'],
    });
  });

  test('real 2.1 dialogues → data.json → loader: same dialogues, goals kept', async () => {
    const out = path.join(dir, 'b');
    await writeExport({ dialogues: real, outDir: out, layouts: ['data-json'], split: 'test' });
    expect(readFileSync(path.join(out, 'testListFile.json'), 'utf8').split('\n')[0]).toBe(
      `${real[0]!.id}.json`,
    );
    expect(readFileSync(path.join(out, 'valListFile.json'), 'utf8')).toBe('');
    for (const split of ['test', undefined] as const) {
      const back = await loadDataset({ dataset: 'multiwoz21', source: out, split });
      expect(back).toEqual(real);
    }
    expect(await loadDataset({ dataset: 'multiwoz21', source: out, split: 'train' })).toEqual([]);
  });

  test('data.json uses the 2.1 spellings and empty markers', () => {
    const data = toDataJson([rich]) as Record<string, { log: Array<{ text: string; metadata: object }> }>;
    const log = data['GEN0001.json']!.log;
    // The last user turn gets an empty system entry to carry its state.
    expect(log.map((e) => e.text)).toEqual([
      'A guesthouse in the centre, please.',
      'Alexander Bed and Breakfast fits.',
      'Its phone? And a taxi there at 5pm for 2 nights from Monday.',
      '',
    ]);
    expect(log[0]!.metadata).toEqual({});
    const meta = log[3]!.metadata as Record<string, unknown>;
    expect(Object.keys(meta)).toEqual([
      'taxi',
      'police',
      'restaurant',
      'hospital',
      'hotel',
      'attraction',
      'train',
    ]);
    expect(meta.hotel).toEqual({
      book: { booked: [], stay: '2', day: 'monday', people: '' },
      semi: {
        name: 'not mentioned',
        area: 'centre',
        parking: 'not mentioned',
        pricerange: 'not mentioned',
        stars: 'not mentioned',
        internet: 'not mentioned',
        type: 'guesthouse',
      },
    });
    expect(meta.taxi).toEqual({
      book: { booked: [] },
      semi: {
        leaveAt: '17:00',
        destination: 'alexander bed and breakfast',
        departure: 'not mentioned',
        arriveBy: 'not mentioned',
      },
    });
    expect(meta.train).toEqual({
      book: { booked: [], people: '' },
      semi: { leaveAt: '', destination: '', day: '', arriveBy: '', departure: '' },
    });
  });

  test('data.json round trip of a dialogue ending on a user turn: first values, extra empty system turn', async () => {
    const out = path.join(dir, 'c');
    await writeExport({ dialogues: [rich], outDir: out, layouts: ['data-json'] });
    const [d] = await loadDataset({ dataset: 'multiwoz24', source: path.join(out, 'data.json') });
    expect(d!.turns).toHaveLength(4);
    expect(d!.turns[3]).toEqual({ speaker: 'SYSTEM', utterance: '' });
    const users = d!.turns.filter((t) => t.speaker === 'USER');
    expect(users.map((t) => t.utterance)).toEqual([rich.turns[0]!.utterance, rich.turns[2]!.utterance]);
    expect(users.map((t) => t.state)).toEqual(userStates(rich).map(firstValues));
    // Unlisted in both list files: a generated export reads as train.
    expect(await loadDataset({ dataset: 'multiwoz24', source: out, split: 'train' })).toHaveLength(1);
  });

  test('multi-value lists, intents and requested slots survive the 2.2 round trip exactly', async () => {
    const out = path.join(dir, 'd');
    const files = await writeExport({ dialogues: [rich], outDir: out, layouts: ['multiwoz22'] });
    expect(path.relative(out, files[0]!)).toBe('multiwoz22/generated/dialogues_001.json');
    for (const source of [files[0]!, path.join(out, 'multiwoz22')]) {
      const back = await loadDataset({ dataset: 'multiwoz22', source });
      expect(back).toEqual([rich]);
    }
  });

  test('2.2 chunks hold 100 dialogues and stale chunks are removed', async () => {
    const out = path.join(dir, 'e');
    const many = Array.from({ length: 230 }, (_, i) => ({ ...rich, id: `GEN${String(i).padStart(4, '0')}` }));
    const folder = path.join(out, 'multiwoz22/train');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'dialogues_009.json'), '[]');
    await writeExport({ dialogues: many, outDir: out, split: 'train' });
    expect(readdirSync(folder)).toEqual(['dialogues_001.json', 'dialogues_002.json', 'dialogues_003.json']);
    expect(existsSync(path.join(out, 'data.json'))).toBe(true);
    const back = await loadDataset({
      dataset: 'multiwoz22',
      source: path.join(out, 'multiwoz22'),
      split: 'train',
    });
    expect(back.map((d) => d.id)).toEqual(many.map((d) => d.id));
  });

  test('turns that do not alternate are refused before anything is written', async () => {
    const turns: Turn[] = [{ speaker: 'SYSTEM', utterance: 'hello' }];
    const out = path.join(dir, 'f');
    await expect(
      writeExport({ dialogues: [{ id: 'BAD', services: [], turns }], outDir: out }),
    ).rejects.toThrow(/dialogue BAD: turns\[0\] is SYSTEM, expected USER/);
    expect(existsSync(out)).toBe(false);
    expect(() => toDataJson([rich, rich])).toThrow(/GEN0001 appears twice/);
  });
});
