/**
 * A slot the user was to reveal, said in so many words, but left out by the labeller: the
 * planned value is added (`missed_label`) instead of being re-planned, which made the 1.5B
 * default model's user repeat itself until the domain cap. A value the user did not say is
 * still re-planned.
 */
import { loadOntology } from '../../multiwoz/ontology';
import { loadVenueDb } from '../../multiwoz/venues';
import { checkTurnLabel } from '../../simulator/label-turn';
import { REASON } from '../../simulator/types';

const deps = { ontology: loadOntology(), db: loadVenueDb() };
const plan = {
  goalValues: { 'train-destination': 'kings lynn', 'train-arriveby': '09:00', 'train-bookpeople': '6' },
  revealed: new Set(['train-destination', 'train-arriveby', 'train-bookpeople']),
  changedNow: new Set<string>(),
};
const base = {
  previous: { 'train-destination': 'kings lynn' },
  turn: 3,
  systemText: 'How many people?',
  deps,
  plan,
};

test('said but not labelled: the planned value is added, and not re-planned', () => {
  const r = checkTurnLabel({
    ...base,
    raw: { 'train-destination': 'kings lynn', 'train-arriveby': '09:00' },
    userText: 'I would like to book it for 6 people, arriving by 09:00.',
  });
  expect(r.state).toEqual({
    'train-arriveby': '09:00',
    'train-bookpeople': '6',
    'train-destination': 'kings lynn',
  });
  expect(r.missing).toEqual([]);
  expect(r.failures.map((f) => `${f.reason} ${f.slot}`)).toEqual(['missed_label train-bookpeople']);
});

test('not said: reported as not revealed and re-planned, nothing invented', () => {
  const r = checkTurnLabel({
    ...base,
    raw: { 'train-destination': 'kings lynn', 'train-arriveby': '09:00' },
    userText: 'Arriving by 09:00, please.',
  });
  expect(r.state).toEqual({ 'train-arriveby': '09:00', 'train-destination': 'kings lynn' });
  expect(r.missing).toEqual(['train-bookpeople']);
  expect(r.failures.map((f) => f.reason)).toEqual([REASON.NOT_REVEALED]);
});

/** SYN21-000030: the planned change hotel-parking no → yes, on a user turn of 'Yes, please.'. */
const change = {
  previous: { 'hotel-parking': 'no', 'hotel-pricerange': 'cheap' },
  turn: 1,
  systemText: 'I could not find a hotel with all of that. Could you try a different area?',
  deps,
  plan: {
    goalValues: { 'hotel-parking': 'yes', 'hotel-pricerange': 'cheap' },
    revealed: new Set(['hotel-parking', 'hotel-pricerange']),
    changedNow: new Set(['hotel-parking']),
  },
  userText: 'Yes, please.',
};

test('a planned change the user did not say: the state stays cumulative and the change is re-planned', () => {
  const raws: Array<Record<string, string>> = [
    { 'hotel-pricerange': 'cheap' },
    { 'hotel-parking': 'yes', 'hotel-pricerange': 'cheap' },
  ];
  for (const raw of raws) {
    const r = checkTurnLabel({ ...change, raw });
    // Dropped (the labeller) or unspoken (the user): the old value stays, not a hole in the state.
    expect(r.state).toEqual({ 'hotel-parking': 'no', 'hotel-pricerange': 'cheap' });
    expect(r.missing).toContain('hotel-parking');
  }
});

test('a planned change the user says: it enters, even when the labeller dropped it', () => {
  const r = checkTurnLabel({
    ...change,
    raw: { 'hotel-pricerange': 'cheap' },
    userText: 'Actually, I do need free parking.',
  });
  expect(r.state).toEqual({ 'hotel-parking': 'yes', 'hotel-pricerange': 'cheap' });
  expect(r.missing).toEqual([]);
});
