import path from 'node:path';
import { multiwozDir } from '../../multiwoz/paths';
import {
  bookingReference,
  loadVenueDb,
  nameKey,
  normalizeValue,
  parseTime,
  type VenueEntry,
} from '../../multiwoz/venues';
import { createRng } from '../../simulator/rng';

const mw = multiwozDir();
const db = loadVenueDb();

const names = (entries: readonly VenueEntry[]) => entries.map((e) => e.name);
const field = (e: VenueEntry, key: string) => String(e[key]);

describe('loading the real db/*_db.json files', () => {
  test('counts: attraction 79, hotel 33, restaurant 110, train 2,828; taxi has no table', () => {
    expect(db.entries('attraction')).toHaveLength(79);
    expect(db.entries('hotel')).toHaveLength(33);
    expect(db.entries('restaurant')).toHaveLength(110);
    expect(db.entries('train')).toHaveLength(2828);
    expect(db.entries('taxi')).toHaveLength(0);
  });

  test('cached per folder; the MultiWOZ folder and its db/ folder are the same database', () => {
    expect(loadVenueDb(mw)).toBe(db);
    expect(loadVenueDb(path.join(mw, 'db'))).toBe(db);
  });

  test('records are frozen, since every caller shares them', () => {
    expect(Object.isFrozen(db.entries('hotel')[0])).toBe(true);
  });

  test('a folder without the tables fails with a message naming it', () => {
    expect(() => loadVenueDb('/nonexistent/multiwoz')).toThrow(/\/nonexistent\/multiwoz.*hotel_db\.json/);
  });

  test('an unknown domain is rejected', () => {
    expect(() => db.entries('police' as 'hotel')).toThrow(/unknown MultiWOZ domain "police"/);
  });
});

describe('query: MultiWOZ constraint semantics', () => {
  test('no constraints and dontcare spellings match every record', () => {
    expect(db.query('hotel', {})).toHaveLength(33);
    for (const any of ['dontcare', 'dont care', "don't care", 'Don’t care', 'do not care', 'any'])
      expect(db.query('hotel', { 'hotel-area': any, 'hotel-pricerange': any })).toHaveLength(33);
    expect(db.query('train', { 'train-day': 'dontcare', 'train-leaveat': 'dontcare' })).toHaveLength(2828);
  });

  test('empty values (none, not mentioned) constrain nothing', () => {
    expect(db.query('restaurant', { 'restaurant-food': 'none', 'restaurant-area': '' })).toHaveLength(110);
    expect(db.query('attraction', { 'attraction-type': 'not mentioned' })).toHaveLength(79);
  });

  test('area: centre, center, city centre and town centre are one value (69 restaurants)', () => {
    const centre = db.query('restaurant', { 'restaurant-area': 'centre' });
    expect(centre).toHaveLength(69);
    for (const v of ['center', 'City Centre', 'city center', 'town centre'])
      expect(db.query('restaurant', { 'restaurant-area': v })).toEqual(centre);
  });

  test('hotel type: guesthouse = guest house (24 of 33)', () => {
    const guesthouses = db.query('hotel', { 'hotel-type': 'guesthouse' });
    expect(guesthouses).toHaveLength(24);
    expect(db.query('hotel', { 'hotel-type': 'guest house' })).toEqual(guesthouses);
    expect(db.query('hotel', { 'hotel-type': 'hotel' })).toHaveLength(9);
  });

  test('parking/internet: free = yes', () => {
    expect(db.query('hotel', { 'hotel-parking': 'free' })).toHaveLength(29);
    expect(db.query('hotel', { 'hotel-parking': 'yes' })).toHaveLength(29);
    expect(db.query('hotel', { 'hotel-internet': 'no' })).toHaveLength(1);
  });

  test('stars compare as numbers; constraints combine with AND', () => {
    expect(db.query('hotel', { 'hotel-stars': '4' })).toHaveLength(21);
    expect(db.query('hotel', { 'hotel-stars': 'four stars' })).toHaveLength(21);
    const hits = db.query('hotel', {
      'hotel-stars': '4',
      'hotel-area': 'north',
      'hotel-type': 'guest house',
    });
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect([h.stars, h.area, h.type]).toEqual(['4', 'north', 'guesthouse']);
  });

  test('attraction types: the DB typos answer the corrected spellings', () => {
    expect(db.query('attraction', { 'attraction-type': 'multiple sports' })).toHaveLength(1);
    expect(db.query('attraction', { 'attraction-type': 'swimming pool' })).toHaveLength(4);
    expect(db.query('attraction', { 'attraction-type': 'concert hall' })).toHaveLength(1);
    expect(db.query('attraction', { 'attraction-type': 'night club' })).toHaveLength(6);
  });

  test('book slots are ignored as constraints, in either spelling', () => {
    const north = db.query('hotel', { 'hotel-area': 'north' });
    expect(north).toHaveLength(13);
    expect(
      db.query('hotel', { 'hotel-area': 'north', 'hotel-bookday': 'friday', 'hotel-book stay': '3' }),
    ).toEqual(north);
    expect(db.query('restaurant', { 'restaurant-booktime': '19:00' })).toHaveLength(110);
  });

  test('an unknown or foreign slot throws a clear error', () => {
    expect(() => db.query('hotel', { 'hotel-food': 'thai' })).toThrow(
      /unknown slot "hotel-food" for domain hotel/,
    );
    expect(() => db.query('hotel', { 'restaurant-food': 'thai' })).toThrow(/hotel-pricerange/);
    expect(() => db.query('taxi', { 'taxi-colour': 'black' })).toThrow(/taxi-colour/);
  });

  test('a 2.4 alternative list a|b matches either value', () => {
    const both = db.query('hotel', { 'hotel-area': 'east|south' });
    expect(both).toHaveLength(7 + 4);
  });

  test('the name slot matches the same record matchEntityName finds', () => {
    expect(names(db.query('attraction', { 'attraction-name': 'christs college' }))).toEqual([
      "christ's college",
    ]);
    expect(names(db.query('hotel', { 'hotel-name': 'Rosas B&B', 'hotel-area': 'dontcare' }))).toEqual([
      "rosa's bed and breakfast",
    ]);
    expect(db.query('hotel', { 'hotel-name': 'the grand budapest hotel' })).toEqual([]);
  });
});

describe('query: train times on real trips', () => {
  const route = {
    'train-departure': 'cambridge',
    'train-destination': 'london kings cross',
    'train-day': 'friday',
  };
  const trips = db
    .entries('train')
    .filter(
      (t) => t.departure === 'cambridge' && t.destination === 'london kings cross' && t.day === 'friday',
    );

  test('leaveat 10:00: every departure is at or after 10:00, and none is lost', () => {
    const hits = db.query('train', { ...route, 'train-leaveat': '10:00' });
    expect(hits.length).toBeGreaterThan(0);
    for (const t of hits) expect(field(t, 'leaveAt') >= '10:00').toBe(true);
    expect(hits).toEqual(trips.filter((t) => field(t, 'leaveAt') >= '10:00'));
  });

  test('arriveby 12:00: every arrival is at or before 12:00', () => {
    const hits = db.query('train', { ...route, 'train-arriveby': '12:00' });
    expect(hits.length).toBeGreaterThan(0);
    for (const t of hits) expect(field(t, 'arriveBy') <= '12:00').toBe(true);
    expect(hits).toEqual(trips.filter((t) => field(t, 'arriveBy') <= '12:00'));
  });

  test('both bounds are inclusive, and spoken times are understood', () => {
    const trip = trips[3];
    if (!trip) throw new Error('expected friday trips');
    const leave = field(trip, 'leaveAt');
    const arrive = field(trip, 'arriveBy');
    const hits = db.query('train', { ...route, 'train-leaveat': leave, 'train-arriveby': arrive });
    expect(hits).toEqual([trip]);
    const [h, m] = leave.split(':').map(Number);
    const spoken = `${(((h ?? 0) + 11) % 12) + 1}:${String(m).padStart(2, '0')} ${(h ?? 0) < 12 ? 'am' : 'pm'}`;
    expect(db.query('train', { ...route, 'train-leaveat': spoken, 'train-arriveby': arrive })).toEqual([
      trip,
    ]);
  });

  test('a leaveat that is not a clock time matches nothing', () => {
    expect(db.query('train', { ...route, 'train-leaveat': 'after lunch' })).toEqual([]);
  });

  test('departure, destination and day are exact (no trains from cambridge to cambridge)', () => {
    expect(db.query('train', { 'train-departure': 'cambridge', 'train-destination': 'cambridge' })).toEqual(
      [],
    );
    expect(db.query('train', { 'train-day': 'Friday' })).toHaveLength(404);
  });
});

describe('taxi: one synthetic car per request', () => {
  const request = { 'taxi-departure': 'avalon', 'taxi-destination': 'nusha', 'taxi-leaveat': '10:00' };

  test('query returns one car with a colour, type and ten-digit phone, stable for the same request', () => {
    const [car] = db.query('taxi', request);
    expect(car).toMatchObject({ departure: 'avalon', destination: 'nusha', leaveAt: '10:00' });
    expect(car?.phone).toMatch(/^\d{10}$/);
    expect(car?.name).toBe(`${field(car ?? {}, 'color')} ${field(car ?? {}, 'type')}`);
    expect(db.query('taxi', { ...request, 'taxi-bookpeople': '2' })).toEqual([car]);
    expect(db.entityAttributes('taxi', car ?? {})).toEqual(request);
  });

  test('no venue name ever matches a taxi', () => {
    expect(db.matchEntityName('taxi', 'avalon')).toBeUndefined();
  });
});

describe('matchEntityName', () => {
  test('exact after normalising case, apostrophes, &, punctuation and a leading "the"', () => {
    const cases: Array<[Parameters<typeof db.matchEntityName>[0], string, string]> = [
      ['restaurant', 'Pizza Hut City Centre', 'pizza hut city centre'],
      ['restaurant', 'pizza express fen ditton', 'pizza express Fen Ditton'],
      ['hotel', 'rosas bed and breakfast', "rosa's bed and breakfast"],
      ['hotel', 'Rosa’s Bed & Breakfast', "rosa's bed and breakfast"],
      ['hotel', 'alpha milton guest house', 'alpha-milton guest house'],
      ['hotel', 'city centre north bed and breakfast', 'city centre north b and b'],
      ['attraction', 'kings college', "king's college"],
      ['attraction', 'queens college', "queens' college"],
      ['attraction', 'saint catharines college', "saint catharine's college"],
      ['attraction', 'fitzwilliam museum', 'the fitzwilliam museum'],
      ['restaurant', 'frankie & bennys', 'frankie and bennys'],
    ];
    for (const [domain, query, expected] of cases)
      expect(db.matchEntityName(domain, query)?.name).toBe(expected);
  });

  test('a unique name without its generic word (hotel, college, …) matches', () => {
    expect(db.matchEntityName('hotel', 'gonville')?.name).toBe('gonville hotel');
    expect(db.matchEntityName('hotel', 'lensfield hotel')?.name).toBe('the lensfield hotel');
    expect(db.matchEntityName('restaurant', 'shiraz')?.name).toBe('shiraz restaurant');
  });

  test('fuzzy: typos and a dropped word from real MultiWOZ labels match at ≥ 0.85', () => {
    expect(db.matchEntityName('attraction', 'churchills college')?.name).toBe('churchill college');
    expect(db.matchEntityName('restaurant', 'caffee uno')?.name).toBe('caffe uno');
    expect(db.matchEntityName('hotel', 'cambridge belfray')?.name).toBe('the cambridge belfry');
    expect(db.matchEntityName('hotel', 'wankworth house')?.name).toBe('warkworth house');
    expect(db.matchEntityName('restaurant', 'pizza hut centre')?.name).toBe('pizza hut city centre');
  });

  test('non-matches: unknown names, far typos, ambiguous prefixes, empty input', () => {
    expect(db.matchEntityName('hotel', 'the grand budapest hotel')).toBeUndefined();
    expect(db.matchEntityName('attraction', 'wandlebury coutn')).toBeUndefined();
    expect(db.matchEntityName('restaurant', 'golden dragon')).toBeUndefined();
    // Three pizza huts: no single best one.
    expect(db.matchEntityName('restaurant', 'pizza hut')).toBeUndefined();
    expect(db.matchEntityName('hotel', 'the')).toBeUndefined();
    expect(db.matchEntityName('hotel', '')).toBeUndefined();
  });

  test('trains match their id exactly', () => {
    expect(db.matchEntityName('train', 'tr7075')?.trainID).toBe('TR7075');
    expect(db.matchEntityName('train', 'TR0000')).toBeUndefined();
  });
});

describe('random entities and booking references', () => {
  test('randomEntity is a record of the table and repeats under the same seed', () => {
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 5 }, () => db.randomEntity('restaurant', rng.next));
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    for (const e of a) expect(db.entries('restaurant')).toContain(e);
    expect(new Set(a.map((e) => e.name)).size).toBeGreaterThan(1);
    expect(db.randomEntity('train', createRng(7))).toBe(db.randomEntity('train', () => createRng(7).next()));
  });

  test('randomEntity covers the whole table, including the last record', () => {
    expect(db.randomEntity('hotel', () => 0)).toBe(db.entries('hotel')[0]);
    expect(db.randomEntity('hotel', () => 0.999999)).toBe(db.entries('hotel')[32]);
  });

  test('booking reference: 8 upper-case alphanumerics, deterministic under a seed', () => {
    const refs = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 20 }, () => bookingReference(rng));
    };
    const a = refs(42);
    for (const r of a) expect(r).toMatch(/^[A-Z0-9]{8}$/);
    expect(refs(42)).toEqual(a);
    expect(refs(43)).not.toEqual(a);
    expect(new Set(a).size).toBe(20);
    expect(db.bookingReference(createRng(42).next)).toBe(a[0]);
  });
});

describe('entityAttributes', () => {
  test('hotel: the seven informable slots', () => {
    const hotel = db.matchEntityName('hotel', 'a and b guest house');
    expect(db.entityAttributes('hotel', hotel ?? {})).toEqual({
      'hotel-area': 'east',
      'hotel-internet': 'yes',
      'hotel-name': 'a and b guest house',
      'hotel-parking': 'no',
      'hotel-pricerange': 'moderate',
      'hotel-stars': '4',
      'hotel-type': 'guesthouse',
    });
  });

  test('train: day, stations and times', () => {
    const first = db.entries('train')[0];
    expect(db.entityAttributes('train', first ?? {})).toEqual({
      'train-arriveby': '05:51',
      'train-day': 'monday',
      'train-departure': 'cambridge',
      'train-destination': 'london kings cross',
      'train-leaveat': '05:00',
    });
  });

  test('values are lower case; the DB typo mutliple sports is given in schema spelling', () => {
    const [sports] = db.query('attraction', { 'attraction-type': 'multiple sports' });
    expect(db.entityAttributes('attraction', sports ?? {})['attraction-type']).toBe('multiple sports');
    const fen = db.matchEntityName('restaurant', 'pizza express fen ditton');
    expect(db.entityAttributes('restaurant', fen ?? {})['restaurant-name']).toBe('pizza express fen ditton');
  });

  test('every venue answers a query built from its own attributes', () => {
    for (const domain of ['attraction', 'hotel', 'restaurant'] as const)
      for (const e of db.entries(domain))
        expect(db.query(domain, db.entityAttributes(domain, e))).toEqual([e]);
  });
});

describe('value helpers', () => {
  test('normalizeValue', () => {
    expect(normalizeValue('hotel-area', 'City Center')).toBe('centre');
    expect(normalizeValue('hotel-type', 'guesthouse')).toBe('guest house');
    expect(normalizeValue('hotel-internet', 'free')).toBe('yes');
    expect(normalizeValue('attraction-pricerange', 'free')).toBe('free');
    expect(normalizeValue('train-leave at', '9.30')).toBe('09:30');
    expect(normalizeValue('restaurant-book time', '7pm')).toBe('19:00');
    expect(normalizeValue('restaurant-food', "Don't Care")).toBe('dontcare');
    expect(normalizeValue('taxi-destination', "The King's College")).toBe('kings college');
  });

  test('parseTime and nameKey', () => {
    expect(parseTime('24:55')).toBe(24 * 60 + 55);
    expect(parseTime('1715')).toBe(17 * 60 + 15);
    expect(parseTime('12 am')).toBe(0);
    expect(parseTime('13pm')).toBeUndefined();
    expect(parseTime('noonish')).toBeUndefined();
    expect(nameKey("  The Rosa's B&B ")).toBe('rosas bed and breakfast');
  });
});
