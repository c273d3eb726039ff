import path from 'node:path';
import { loadDataset } from '../../multiwoz/loaders';
import { loadOntology } from '../../multiwoz/ontology';
import { multiwozDir } from '../../multiwoz/paths';
import { slotDomain } from '../../multiwoz/slots';
import { TRACKED_DOMAINS, type Dialogue } from '../../multiwoz/types';
import { isDontcare, loadVenueDb, normalizeValue } from '../../multiwoz/venues';
import { isBookSlot, type DomainGoal, type Goal } from '../../simulator/goal-types';
import { checkGoal } from '../../simulator/goal-check';
import { databaseGoal } from '../../simulator/goal-database';
import { goalFromDialogue } from '../../simulator/goal-real';
import { REQUESTABLE } from '../../simulator/goal-values';
import { sampleGoals } from '../../simulator/goals';
import { createRng } from '../../simulator/rng';

const mw = multiwozDir();
const db = loadVenueDb();
const ontology = loadOntology();
const deps = { db, ontology };
const tracked = new Set<string>(TRACKED_DOMAINS);

let train: Dialogue[];
let dev: Dialogue[];
beforeAll(async () => {
  train = await loadDataset({ source: path.join(mw, '2.1/train-dev-test.star-tsv.zip'), split: 'train' });
  dev = await loadDataset({ source: path.join(mw, '2.1/val.json.zip'), split: 'dev' });
});

const byId = (ds: Dialogue[], id: string) => {
  const d = ds.find((x) => x.id === id);
  if (!d) throw new Error(`${id} not loaded`);
  return d;
};

/** Tracked slots of the final state, in order of first appearance, first value each. */
function expectedSlots(d: Dialogue): Array<[string, string]> {
  const states = d.turns.flatMap((t) => (t.state ? [t.state] : []));
  const final = states[states.length - 1] ?? {};
  const order: string[] = [];
  for (const s of states) for (const slot of Object.keys(s)) if (!order.includes(slot)) order.push(slot);
  return order
    .filter((slot) => tracked.has(slotDomain(slot)) && final[slot]?.[0])
    .map((slot) => [slot, (final[slot]?.[0] ?? '').split('|')[0] ?? '']);
}

const slotsOf = (g: DomainGoal) => [...Object.entries(g.constraints), ...Object.entries(g.book)];
const matches = (g: DomainGoal) => (g.domain === 'taxi' ? 1 : db.query(g.domain, g.constraints).length);
const isNameSlot = (slot: string) => /-name$|^taxi-(departure|destination)$/.test(slot);

describe('goalFromDialogue on real STAR train dialogues', () => {
  test('PMUL1690: domains and slots in order of first appearance, final values, book slots apart', () => {
    const goal = goalFromDialogue(byId(train, 'PMUL1690'), createRng(1), deps, { swapProbability: 0 });
    expect(goal?.origin).toBe('real');
    expect(goal?.sourceDialogueId).toBe('PMUL1690');
    expect(goal?.domains.map((d) => d.domain)).toEqual(['train', 'hotel']);
    const [trainGoal, hotelGoal] = goal?.domains ?? [];
    // The user first said ely, then corrected it to cambridge: the goal keeps the final value.
    expect(Object.entries(trainGoal?.constraints ?? {})).toEqual([
      ['train-departure', 'norwich'],
      ['train-leaveat', '21:15'],
      ['train-destination', 'cambridge'],
      ['train-day', 'monday'],
    ]);
    expect(Object.keys(hotelGoal?.constraints ?? {})).toEqual([
      'hotel-area',
      'hotel-stars',
      'hotel-pricerange',
    ]);
    expect(hotelGoal?.book).toEqual({
      'hotel-bookday': 'monday',
      'hotel-bookpeople': '4',
      'hotel-bookstay': '2',
    });
  });

  test('without swaps every goal equals its final state, domain by domain, in order', () => {
    let goals = 0;
    for (const d of train.slice(0, 500)) {
      const goal = goalFromDialogue(d, createRng(2), deps, { swapProbability: 0 });
      const expected = expectedSlots(d);
      if (expected.length === 0) {
        expect(goal).toBeUndefined();
        continue;
      }
      goals++;
      const domainOrder = [...new Set(expected.map(([slot]) => slotDomain(slot)))];
      expect(goal?.domains.map((g) => g.domain)).toEqual(domainOrder);
      expect(goal?.domains.flatMap(slotsOf).sort()).toEqual([...expected].sort());
      for (const g of goal?.domains ?? []) {
        const inState = expected.filter(([slot]) => slotDomain(slot) === g.domain).map(([s]) => s);
        expect(Object.keys(g.constraints)).toEqual(inState.filter((s) => !isBookSlot(s)));
        expect(Object.keys(g.book)).toEqual(inState.filter(isBookSlot));
        // STAR has no goal file: 0–2 sampled requests from the domain's allowed list.
        expect(g.requests.length).toBeLessThanOrEqual(2);
        for (const r of g.requests) expect(REQUESTABLE[g.domain]).toContain(r);
      }
    }
    expect(goals).toBeGreaterThan(490);
  });

  test('dontcare values stay as constraints', () => {
    const d = train.find((x) => expectedSlots(x).some(([, v]) => v === 'dontcare'));
    const goal = d && goalFromDialogue(d, createRng(3), deps, { swapProbability: 0 });
    const values = goal?.domains.flatMap((g) => Object.values(g.constraints));
    expect(values).toContain('dontcare');
  });

  test('with swapProbability 1 exactly one constraint per domain gets a different valid value', () => {
    let swapped = 0;
    for (const d of train.slice(0, 300)) {
      const goal = goalFromDialogue(d, createRng(4), deps, { swapProbability: 1 });
      const expected = new Map(expectedSlots(d));
      for (const g of goal?.domains ?? []) {
        expect(Object.keys(g.constraints)).toEqual(
          [...expected.keys()].filter((s) => slotDomain(s) === g.domain && !isBookSlot(s)),
        );
        for (const [slot, value] of Object.entries(g.book)) expect(value).toBe(expected.get(slot));
        const diffs = Object.entries(g.constraints).filter(([slot, value]) => value !== expected.get(slot));
        const changeable = Object.keys(g.constraints).filter(
          (s) => !isNameSlot(s) && !isDontcare(expected.get(s) ?? ''),
        );
        expect(diffs).toHaveLength(changeable.length > 0 ? 1 : 0);
        for (const [slot, value] of diffs) {
          swapped++;
          expect(isNameSlot(slot)).toBe(false);
          expect(normalizeValue(slot, value)).not.toBe(normalizeValue(slot, expected.get(slot) ?? ''));
          expect(value).not.toBe('dontcare');
          expect(ontology.has(slot, value)).toBe(true);
        }
      }
    }
    expect(swapped).toBeGreaterThan(300);
  });

  test('train day and time swaps give weekdays and quarter-hour clock times', () => {
    const trainGoals = train.slice(0, 800).filter((d) => expectedSlots(d).some(([s]) => s === 'train-day'));
    const seen = new Set<string>();
    for (const [i, d] of trainGoals.entries()) {
      const goal = goalFromDialogue(d, createRng(100 + i), deps, { swapProbability: 1 });
      const expected = new Map(expectedSlots(d));
      for (const [slot, value] of Object.entries(
        goal?.domains.find((g) => g.domain === 'train')?.constraints ?? {},
      )) {
        if (value === expected.get(slot)) continue;
        seen.add(slot);
        if (slot === 'train-day') expect(value).toMatch(/^(mon|tues|wednes|thurs|fri|satur|sun)day$/);
        if (slot === 'train-leaveat' || slot === 'train-arriveby')
          expect(value).toMatch(/^([01]\d|2[0-3]):(00|15|30|45)$/);
      }
    }
    expect(seen).toContain('train-day');
    expect(seen).toContain('train-leaveat');
  });

  test('requests come from the 2.1 goal reqt list when the source has goals (PMUL1635, dev)', () => {
    const goal = goalFromDialogue(byId(dev, 'PMUL1635'), createRng(5), deps, { swapProbability: 0 });
    const requests = Object.fromEntries(goal?.domains.map((g) => [g.domain, g.requests]) ?? []);
    // reqt ["duration", "leaveAt", "price"]; the hotel part of the goal asks for nothing.
    expect(requests).toEqual({ hotel: [], train: ['duration', 'leaveat', 'price'] });
  });

  test('a dialogue whose states touch no tracked domain gives no goal', () => {
    const empty = train.find((d) => expectedSlots(d).length === 0);
    expect(empty).toBeDefined();
    expect(goalFromDialogue(empty as Dialogue, createRng(6), deps)).toBeUndefined();
  });
});

describe('databaseGoal', () => {
  const goals = Array.from({ length: 300 }, (_, i) => databaseGoal(createRng(1000 + i), deps));

  test('every venue and train domain matches at least one database entry', () => {
    for (const goal of goals) for (const g of goal.domains) expect(matches(g)).toBeGreaterThan(0);
  });

  test('1–3 distinct domains, taxi last, database origin', () => {
    const counts = new Set<number>();
    for (const goal of goals) {
      const names = goal.domains.map((d) => d.domain);
      counts.add(names.length);
      expect(goal.origin).toBe('database');
      expect(new Set(names).size).toBe(names.length);
      if (names.includes('taxi')) expect(names[names.length - 1]).toBe('taxi');
    }
    expect([...counts].sort()).toEqual([1, 2, 3]);
    const single = Array.from({ length: 30 }, (_, i) => databaseGoal(createRng(i), deps, { domains: 1 }));
    for (const goal of single) expect(goal.domains).toHaveLength(1);
  });

  test('constraints: 1–4 attributes or the name; trains give route, day and one time; taxis a route and a time', () => {
    let nameOnly = 0;
    let venues = 0;
    for (const g of goals.flatMap((goal) => goal.domains)) {
      const slots = Object.keys(g.constraints);
      if (g.domain === 'train') {
        expect(slots.slice(0, 3)).toEqual(['train-departure', 'train-destination', 'train-day']);
        expect(slots.filter((s) => s === 'train-leaveat' || s === 'train-arriveby')).toHaveLength(1);
      } else if (g.domain === 'taxi') {
        expect(g.constraints['taxi-departure']).not.toBe(g.constraints['taxi-destination']);
        expect(slots.filter((s) => s === 'taxi-leaveat' || s === 'taxi-arriveby')).toHaveLength(1);
      } else {
        venues++;
        if (slots.some((s) => s.endsWith('-name'))) nameOnly++;
        expect(slots.length).toBeGreaterThanOrEqual(1);
        expect(slots.length).toBeLessThanOrEqual(slots.some((s) => s.endsWith('-name')) ? 1 : 4);
      }
    }
    expect(nameOnly / venues).toBeGreaterThan(0.2);
    expect(nameOnly / venues).toBeLessThan(0.4);
  });

  test('booking values lie in their ranges', () => {
    const book = goals.flatMap((goal) => goal.domains.flatMap((g) => Object.entries(g.book)));
    expect(book.length).toBeGreaterThan(100);
    for (const [slot, value] of book) {
      if (slot.endsWith('-bookday')) expect(value).toMatch(/^(mon|tues|wednes|thurs|fri|satur|sun)day$/);
      if (slot.endsWith('-bookpeople')) expect(Number(value)).toBeGreaterThanOrEqual(1);
      if (slot.endsWith('-bookpeople')) expect(Number(value)).toBeLessThanOrEqual(8);
      if (slot === 'hotel-bookstay') expect(['1', '2', '3', '4', '5']).toContain(value);
      if (slot === 'restaurant-booktime') {
        expect(value).toMatch(/^\d\d:(00|15|30|45)$/);
        expect(value >= '11:00' && value <= '21:00').toBe(true);
      }
    }
  });
});

describe('checkGoal', () => {
  const hotel = (constraints: Record<string, string>): Goal => ({
    origin: 'database',
    domains: [{ domain: 'hotel', constraints, book: {}, requests: [] }],
  });

  test('an impossible hotel (5 stars, west, cheap) becomes a planned change of the stars', () => {
    const impossible = { 'hotel-stars': '5', 'hotel-area': 'west', 'hotel-pricerange': 'cheap' };
    expect(db.query('hotel', impossible)).toHaveLength(0);
    const input = hotel(impossible);
    const { goal, satisfiable } = checkGoal(input, db);
    expect(satisfiable).toBe(true);
    const g = goal.domains[0] as DomainGoal;
    // No hotel has 5 stars, so neither the area nor the price alone can be relaxed.
    expect(g.change?.slot).toBe('hotel-stars');
    expect(g.change?.from).toBe('5');
    expect(g.constraints['hotel-stars']).toBe(g.change?.to);
    expect(g.change?.to).not.toBe('5');
    expect(matches(g)).toBeGreaterThan(0);
    expect(input.domains[0]?.constraints).toEqual(impossible);
    expect(input.domains[0]?.change).toBeUndefined();
  });

  test('a train leaving too late is relaxed to the last departure of that day', () => {
    const late = {
      'train-departure': 'cambridge',
      'train-destination': 'ely',
      'train-day': 'monday',
      'train-leaveat': '23:59',
    };
    expect(db.query('train', late)).toHaveLength(0);
    const { goal, satisfiable } = checkGoal(
      { origin: 'database', domains: [{ domain: 'train', constraints: late, book: {}, requests: [] }] },
      db,
    );
    const g = goal.domains[0] as DomainGoal;
    expect(satisfiable).toBe(true);
    expect(g.change).toMatchObject({ slot: 'train-leaveat', from: '23:59' });
    expect(g.constraints['train-leaveat']).toMatch(/^\d\d:(00|15|30|45)$/);
    expect(matches(g)).toBeGreaterThan(0);
  });

  test('an unknown venue name cannot be relaxed: unsatisfiable', () => {
    const { satisfiable } = checkGoal(hotel({ 'hotel-name': 'the nowhere inn', 'hotel-area': 'north' }), db);
    expect(satisfiable).toBe(false);
  });

  test('satisfiable goals and taxis are kept as they are without an rng', () => {
    const goal: Goal = {
      origin: 'database',
      domains: [
        {
          domain: 'hotel',
          constraints: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap' },
          book: {},
          requests: [],
        },
        {
          domain: 'taxi',
          constraints: { 'taxi-departure': 'nowhere', 'taxi-leaveat': '10:00' },
          book: {},
          requests: [],
        },
      ],
    };
    expect(checkGoal(goal, db)).toEqual({ goal, satisfiable: true });
  });

  test('with changeProbability 1 a satisfiable domain gets a change whose first value has no match', () => {
    const constraints = { 'hotel-area': 'north', 'hotel-pricerange': 'cheap', 'hotel-stars': '4' };
    const { goal, satisfiable } = checkGoal(hotel(constraints), db, {
      rng: createRng(9),
      ontology,
      changeProbability: 1,
    });
    const g = goal.domains[0] as DomainGoal;
    expect(satisfiable).toBe(true);
    expect(g.constraints).toEqual(constraints);
    const change = g.change;
    expect(change).toBeDefined();
    if (!change) return;
    expect(change.to).toBe(constraints[change.slot as keyof typeof constraints]);
    expect(db.query('hotel', { ...constraints, [change.slot]: change.from })).toHaveLength(0);
    expect(ontology.has(change.slot, change.from)).toBe(true);
  });
});

describe('sampleGoals', () => {
  const sample = (seed: number, count: number) => sampleGoals({ count, seed, trainDialogues: train, deps });

  test('the same seed gives identical goals, another seed different ones', () => {
    const a = sample(42, 20);
    expect(sample(42, 20)).toEqual(a);
    expect(sample(43, 20)).not.toEqual(a);
    expect(a.map((g) => g.index)).toEqual([...Array(20).keys()]);
  });

  test('goal i does not depend on the count', () => {
    expect(sample(7, 20).slice(0, 5)).toEqual(sample(7, 5));
  });

  test('every sampled goal is satisfiable; the default mix is mostly real goals', () => {
    const goals = sample(11, 200);
    for (const { goal } of goals) for (const g of goal.domains) expect(matches(g)).toBeGreaterThan(0);
    const real = goals.filter((g) => g.goal.origin === 'real').length;
    expect(real / goals.length).toBeGreaterThan(0.7);
    expect(real / goals.length).toBeLessThan(0.9);
  });

  test('real goals of one seed come from different dialogues', () => {
    const goals = sampleGoals({ count: 50, seed: 3, source: 'real', trainDialogues: train, deps });
    const ids = goals.map((g) => g.goal.sourceDialogueId);
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(new Set(ids).size).toBe(50);
  });

  test('database goals need no dialogues; real ones do', () => {
    const goals = sampleGoals({ count: 10, seed: 1, source: 'database', deps });
    expect(goals.every((g) => g.goal.origin === 'database')).toBe(true);
    expect(() => sampleGoals({ count: 1, seed: 1, deps })).toThrow(/trainDialogues/);
  });
});
