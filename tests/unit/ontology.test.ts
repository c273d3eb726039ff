import { loadOntology } from '../../multiwoz/ontology';
import { multiwozDir } from '../../multiwoz/paths';
import { TRACKED_SLOTS } from '../../multiwoz/slots';
import { loadVenueDb } from '../../multiwoz/venues';

const ontology = loadOntology();
const ontology21 = loadOntology({ version: '2.1' });

describe('loadOntology on the real schema, ontology and db files', () => {
  test('the 30 tracked slots, canonical spelling; 2.4 is the default; cached', () => {
    expect(ontology.slots).toEqual([...TRACKED_SLOTS]);
    expect(ontology.slots).toHaveLength(30);
    expect(ontology.version).toBe('2.4');
    expect(loadOntology({ dir: multiwozDir(), version: '2.4' })).toBe(ontology);
    expect(ontology21.version).toBe('2.1');
  });

  test('categorical flags come from the 2.2 schema', () => {
    for (const slot of ['hotel-pricerange', 'hotel-parking', 'hotel-stars', 'train-day', 'attraction-type'])
      expect(ontology.isCategorical(slot)).toBe(true);
    for (const slot of ['restaurant-food', 'hotel-name', 'train-leaveat', 'taxi-departure'])
      expect(ontology.isCategorical(slot)).toBe(false);
    expect(ontology.isCategorical('Hotel-Book Day')).toBe(true);
  });

  test('possibleValues: schema values, lower case, with dontcare', () => {
    expect([...ontology.possibleValues('hotel-pricerange')].sort()).toEqual([
      'cheap',
      'dontcare',
      'expensive',
      'moderate',
    ]);
    expect([...ontology.possibleValues('hotel-parking')].sort()).toEqual(['dontcare', 'free', 'no', 'yes']);
    expect(ontology.possibleValues('attraction-type')).toContain('multiple sports');
    expect(ontology.possibleValues('restaurant-food')).toEqual([]);
  });

  test('values(restaurant-name) holds every database name (lower case) and annotated ones', () => {
    const values = ontology.values('restaurant-name');
    for (const entry of loadVenueDb().entries('restaurant'))
      expect(values).toContain(entry.name?.toLowerCase());
    // `pizza hut` appears in the annotations, not in the DB (which has three pizza huts).
    expect(ontology21.values('restaurant-name')).toContain('pizza hut');
  });

  test('values merge all three sources', () => {
    expect(ontology.values('hotel-type')).toEqual(
      new Set(['guesthouse', 'hotel', 'dontcare', 'guest house']),
    );
    // Ontology-only food (no eritrean restaurant in the DB); DB-only departure time.
    expect(ontology.values('restaurant-food')).toContain('eritrean');
    expect(ontology.values('train-leaveat')).toContain('05:00');
    // Taxis go from and to venues.
    expect(ontology.values('taxi-destination')).toContain("king's college");
    // 2.4 alternatives `east|south` are split; `none` is not a value.
    expect(ontology.values('hotel-area')).not.toContain('east|south');
    expect(ontology21.values('hotel-area')).not.toContain('none');
  });

  test('values returns a copy', () => {
    ontology.values('hotel-area').add('mars');
    expect(ontology.values('hotel-area')).not.toContain('mars');
  });

  test('has compares normalised values', () => {
    expect(ontology.has('hotel-type', 'Guest House')).toBe(true);
    expect(ontology.has('hotel-area', 'city center')).toBe(true);
    expect(ontology.has('hotel-parking', 'dont care')).toBe(true);
    expect(ontology.has('hotel-stars', 'four')).toBe(true);
    expect(ontology.has('attraction-name', "Queens' College")).toBe(true);
    expect(ontology.has('restaurant-booktime', '7pm')).toBe(true);
    expect(ontology.has('hotel-area', 'east|south')).toBe(true);
    expect(ontology.has('hotel-area', 'mars')).toBe(false);
    expect(ontology.has('hotel-area', 'east|mars')).toBe(false);
    expect(ontology.has('restaurant-name', 'the grand budapest')).toBe(false);
    expect(ontology.has('hotel-area', 'none')).toBe(false);
  });

  test('slots outside the 30 are unknown', () => {
    expect(ontology.isCategorical('police-name')).toBe(false);
    expect(ontology.possibleValues('bus-day')).toEqual([]);
    expect(ontology.values('hospital-department').size).toBe(0);
    expect(ontology.has('hotel-address', 'park street')).toBe(false);
  });

  test('bad options fail clearly', () => {
    expect(() => loadOntology({ version: '2.2' as '2.1' })).toThrow(/unknown ontology version "2.2"/);
    expect(() => loadOntology({ dir: '/nonexistent/multiwoz' })).toThrow(/\/nonexistent\/multiwoz/);
  });
});
