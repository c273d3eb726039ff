import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeExport } from '../../multiwoz/export';
import { loadDataset } from '../../multiwoz/loaders';
import { loadOntology } from '../../multiwoz/ontology';
import { multiwozDir } from '../../multiwoz/paths';
import type { Dialogue, DialogueState } from '../../multiwoz/types';
import { loadVenueDb } from '../../multiwoz/venues';
import {
  checkLabel,
  summariseVerdicts,
  validateDialogue,
  verdictReasons,
  type CheckLabelInput,
  type DialogueVerdict,
} from '../../simulator/checks';
import { REASON, type CheckFailure } from '../../simulator/types';
import { spawnCli } from '../helpers/cli';

const deps = { ontology: loadOntology(), db: loadVenueDb() };
const reasons = (failures: CheckFailure[]) => failures.map((f) => `${f.reason} ${f.slot ?? ''}`.trim());

/** A hotel search in progress: area and price revealed, stars still to come. */
function label(overrides: Partial<CheckLabelInput>): CheckLabelInput {
  return {
    turn: 2,
    label: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap' },
    previous: { 'hotel-area': 'north' },
    goalValues: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap', 'hotel-stars': '4' },
    revealed: new Set(['hotel-area', 'hotel-pricerange']),
    deps,
    ...overrides,
  };
}

describe('checkLabel', () => {
  test('a correct label passes unchanged; slot spellings are canonicalised, empty values dropped', () => {
    const r = checkLabel(
      label({ label: { 'Hotel-Area': 'north', 'hotel-price range': 'cheap', 'hotel-stars': 'none' } }),
    );
    expect(r.failures).toEqual([]);
    expect(r.state).toEqual({ 'hotel-area': 'north', 'hotel-pricerange': 'cheap' });
  });

  test('UNKNOWN_SLOT: a slot outside the 30 is dropped', () => {
    const r = checkLabel(
      label({ label: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap', 'hospital-department': 'x' } }),
    );
    expect(reasons(r.failures)).toEqual(['unknown_slot hospital-department']);
    expect(r.failures[0]).toMatchObject({ turn: 2 });
    expect(r.state).toEqual({ 'hotel-area': 'north', 'hotel-pricerange': 'cheap' });
  });

  test('INVALID_VALUE: a categorical value outside possible_values is dropped (a revealed slot is then NOT_REVEALED)', () => {
    const r = checkLabel(label({ label: { 'hotel-area': 'north', 'hotel-pricerange': 'affordable' } }));
    expect(reasons(r.failures)).toEqual(['invalid_value hotel-pricerange', 'not_revealed hotel-pricerange']);
    expect(r.state).toEqual({ 'hotel-area': 'north' });
  });

  test('normalised categorical values and dontcare spellings are valid', () => {
    const r = checkLabel(
      label({
        label: { 'hotel-area': 'North', 'hotel-pricerange': 'cheap', 'hotel-parking': "don't care" },
        goalValues: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap', 'hotel-parking': 'dontcare' },
        revealed: new Set(['hotel-area', 'hotel-pricerange', 'hotel-parking']),
      }),
    );
    expect(r.failures).toEqual([]);
    // The goal's spelling is stored.
    expect(r.state['hotel-parking']).toBe('dontcare');
    expect(r.state['hotel-area']).toBe('north');
  });

  test('UNREVEALED: a slot the plan has not revealed yet is removed', () => {
    const r = checkLabel(
      label({ label: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap', 'hotel-stars': '4' } }),
    );
    expect(reasons(r.failures)).toEqual(['unrevealed hotel-stars']);
    expect(r.state).not.toHaveProperty('hotel-stars');
  });

  test('GOAL_MISMATCH: a value other than the goal gets the goal value', () => {
    const r = checkLabel(label({ label: { 'hotel-area': 'north', 'hotel-pricerange': 'expensive' } }));
    expect(reasons(r.failures)).toEqual(['goal_mismatch hotel-pricerange']);
    expect(r.state['hotel-pricerange']).toBe('cheap');
  });

  test('values equal after normalisation are no mismatch: 5:15 pm = 17:15, center = centre, four = 4', () => {
    const r = checkLabel({
      turn: 0,
      label: { 'train-leaveat': '5:15 pm', 'hotel-area': 'center', 'hotel-stars': 'four stars' },
      previous: {},
      goalValues: { 'train-leaveat': '17:15', 'hotel-area': 'centre', 'hotel-stars': '4' },
      revealed: new Set(['train-leaveat', 'hotel-area', 'hotel-stars']),
      deps,
    });
    expect(r.failures).toEqual([]);
    expect(r.state).toEqual({ 'hotel-area': 'centre', 'hotel-stars': '4', 'train-leaveat': '17:15' });
  });

  test('planned preference change: the caller passes the value that is right for this turn', () => {
    const base = {
      turn: 3,
      previous: { 'restaurant-food': 'chinese', 'restaurant-area': 'west' },
      revealed: new Set(['restaurant-food', 'restaurant-area']),
      deps,
    };
    const before = { ...base, goalValues: { 'restaurant-food': 'chinese', 'restaurant-area': 'west' } };
    const after = {
      ...base,
      goalValues: { 'restaurant-food': 'indian', 'restaurant-area': 'west' },
      changedNow: new Set(['restaurant-food']),
    };
    // The change turn, labelled right.
    expect(
      checkLabel({ ...after, label: { 'restaurant-food': 'indian', 'restaurant-area': 'west' } }).failures,
    ).toEqual([]);
    // The change turn, labeller missed the change: goal value, and no NOT_CUMULATIVE for the changed slot.
    const missed = checkLabel({
      ...after,
      label: { 'restaurant-food': 'chinese', 'restaurant-area': 'west' },
    });
    expect(reasons(missed.failures)).toEqual(['goal_mismatch restaurant-food']);
    expect(missed.state['restaurant-food']).toBe('indian');
    // Before the change the old value is right and the new one is a mismatch.
    const early = checkLabel({
      ...before,
      label: { 'restaurant-food': 'indian', 'restaurant-area': 'west' },
    });
    expect(reasons(early.failures)).toEqual(['goal_mismatch restaurant-food']);
    expect(early.state['restaurant-food']).toBe('chinese');
    // The change turn, labeller dropped the slot (SYN21-000030 lost hotel-parking so): a planned
    // change is a new value, not a removal. The old value stays and the change is re-planned.
    const dropped = checkLabel({ ...after, label: { 'restaurant-area': 'west' } });
    expect(reasons(dropped.failures)).toEqual([
      'not_cumulative restaurant-food',
      'not_revealed restaurant-food',
    ]);
    expect(dropped.state).toEqual({ 'restaurant-food': 'chinese', 'restaurant-area': 'west' });
  });

  test('without a plan (the audit), a change the user allows may drop the slot', () => {
    const r = checkLabel({
      turn: 2,
      previous: { 'restaurant-food': 'chinese', 'restaurant-area': 'west' },
      label: { 'restaurant-area': 'west' },
      goalValues: {},
      revealed: new Set(['restaurant-food', 'restaurant-area']),
      changedNow: new Set(['restaurant-food']),
      deps,
    });
    // No not_cumulative; not_revealed means nothing without a plan (`labelTurn` drops it).
    expect(reasons(r.failures)).toEqual(['not_revealed restaurant-food']);
    expect(r.state).toEqual({ 'restaurant-area': 'west' });
  });

  test('NAME_NO_MATCH: a name with no close database entry is removed; a close one is kept', () => {
    const input = (name: string) =>
      label({
        label: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap', 'restaurant-name': name },
        goalValues: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap' },
        revealed: new Set(['hotel-area', 'hotel-pricerange', 'restaurant-name']),
      });
    const bad = checkLabel(input('golden dragon palace'));
    expect(reasons(bad.failures)).toEqual(['name_no_match restaurant-name', 'not_revealed restaurant-name']);
    expect(bad.state).not.toHaveProperty('restaurant-name');
    const close = checkLabel(input('pizza hut fenditton'));
    expect(close.failures).toEqual([]);
    expect(close.state['restaurant-name']).toBe('pizza hut fenditton');
  });

  test('NOT_CUMULATIVE: a slot dropped or changed without a planned change gets its previous value back', () => {
    const dropped = checkLabel(label({ label: { 'hotel-pricerange': 'cheap' } }));
    expect(reasons(dropped.failures)).toEqual(['not_cumulative hotel-area']);
    expect(dropped.state).toEqual({ 'hotel-area': 'north', 'hotel-pricerange': 'cheap' });
    // A previous slot the goal does not cover (the user took the system's suggestion).
    const changed = checkLabel(
      label({
        label: { 'hotel-area': 'north', 'hotel-pricerange': 'cheap', 'hotel-name': 'worth house' },
        previous: { 'hotel-area': 'north', 'hotel-name': 'acorn guest house' },
        revealed: new Set(['hotel-area', 'hotel-pricerange', 'hotel-name']),
      }),
    );
    expect(reasons(changed.failures)).toEqual(['not_cumulative hotel-name']);
    expect(changed.state['hotel-name']).toBe('acorn guest house');
  });

  test('NOT_REVEALED: a revealed slot missing from the label is reported, not invented', () => {
    const r = checkLabel(label({ label: { 'hotel-area': 'north' } }));
    expect(reasons(r.failures)).toEqual(['not_revealed hotel-pricerange']);
    expect(r.state).toEqual({ 'hotel-area': 'north' });
  });
});

// ---------------------------------------------------------------------------------------------
// validateDialogue on hand-made dialogues
// ---------------------------------------------------------------------------------------------

type Line = [user: string, state: DialogueState, system: string];

function dialogue(id: string, lines: Line[]): Dialogue {
  return {
    id,
    services: ['hotel'],
    turns: lines.flatMap(([user, state, system]) => [
      { speaker: 'USER' as const, utterance: user, state },
      { speaker: 'SYSTEM' as const, utterance: system },
    ]),
  };
}

const GOOD: Line[] = [
  [
    'I need a cheap hotel in the north .',
    { 'hotel-pricerange': ['cheap'], 'hotel-area': ['north'] },
    'The Worth House is a cheap guesthouse there .',
  ],
  [
    'Book it for 2 people please .',
    {
      'hotel-pricerange': ['cheap'],
      'hotel-area': ['north'],
      'hotel-name': ['worth house'],
      'hotel-bookpeople': ['2'],
    },
    'For which day ?',
  ],
  [
    'Monday , 3 nights .',
    {
      'hotel-pricerange': ['cheap'],
      'hotel-area': ['north'],
      'hotel-name': ['worth house'],
      'hotel-bookpeople': ['2'],
      'hotel-bookday': ['monday'],
      'hotel-bookstay': ['3'],
    },
    'Booked , reference 7GAWK763 .',
  ],
];

/** GOOD with `edit` applied to the states of user turns `i` and later, and user turn `i` reworded. */
function fromTurn(i: number, edit: (s: DialogueState) => DialogueState, user?: string): Line[] {
  return GOOD.map(([u, s, sys], k) => [k === i && user ? user : u, k >= i ? edit(s) : s, sys]);
}

const codes = (v: DialogueVerdict) =>
  v.failures.map((f) => `${f.reason}@${f.turn}${f.slot ? ` ${f.slot}` : ''}`);

describe('validateDialogue (hand-made)', () => {
  test('a clean dialogue is accepted; a name the system offered counts as revealed', () => {
    const v = validateDialogue(dialogue('OK1', GOOD), deps);
    expect(v).toEqual({ id: 'OK1', accepted: true, failures: [] });
  });

  test('TOO_SHORT: 4 turns or fewer', () => {
    const v = validateDialogue(dialogue('SHORT', GOOD.slice(0, 2)), deps);
    expect(codes(v)).toEqual(['too_short@1']);
    expect(v.accepted).toBe(false);
  });

  test('UNREVEALED: a value nobody said (reported once, where it appears)', () => {
    const stars = (s: DialogueState) => ({ ...s, 'hotel-stars': ['4'] });
    const v = validateDialogue(dialogue('U', fromTurn(0, stars)), deps);
    expect(codes(v)).toEqual(['unrevealed@0 hotel-stars']);
    const said = fromTurn(0, stars, 'I need a cheap 4 star hotel in the north .');
    expect(validateDialogue(dialogue('U2', said), deps).accepted).toBe(true);
  });

  test('UNKNOWN_SLOT, INVALID_VALUE and NAME_NO_MATCH are reported where the value appears, once', () => {
    const extra = { 'hotel-colour': ['red'], 'hotel-type': ['castle'] };
    const lines = GOOD.map(([u, s, sys]): Line => [u, { ...s, ...extra }, sys]);
    lines[1] = [lines[1]![0], { ...lines[1]![1], 'hotel-name': ['the ritz'] }, lines[1]![2]];
    lines[2] = [lines[2]![0], { ...lines[2]![1], 'hotel-name': ['the ritz'] }, lines[2]![2]];
    const v = validateDialogue(
      dialogue(
        'V',
        lines.map(([u, s, sys]) => [`${u} red castle`, s, sys]),
      ),
      deps,
    );
    expect(codes(v)).toEqual([
      'unknown_slot@0 hotel-colour',
      'invalid_value@0 hotel-type',
      'name_no_match@1 hotel-name',
      'unrevealed@1 hotel-name',
    ]);
  });

  test('NOT_CUMULATIVE: a change or removal needs the user to say it', () => {
    const drop = (s: DialogueState) =>
      Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'hotel-area'));
    const south = (s: DialogueState) => ({ ...s, 'hotel-area': ['south'] });
    const run = (edit: (s: DialogueState) => DialogueState, user?: string) =>
      codes(validateDialogue(dialogue('NC', fromTurn(1, edit, user)), deps));
    expect(run(drop)).toEqual(['not_cumulative@1 hotel-area']);
    expect(run(drop, 'Forget the north , book Worth House for 2 .')).toEqual([]);
    expect(run(south)).toEqual(['unrevealed@1 hotel-area', 'not_cumulative@1 hotel-area']);
    expect(run(south, 'Make it the south , 2 people .')).toEqual([]);
  });

  test('DOMAIN_CAP: a domain whose state changes span more user turns than its cap', () => {
    const taxi = (n: number): Line => {
      const state = { 'taxi-destination': ['cambridge belfry'], 'taxi-departure': ['cambridge'] };
      if (n === 0) return ['A taxi from Cambridge to the Cambridge Belfry please .', state, 'When ?'];
      if (n < 8) return [`Question ${n} about the taxi .`, state, 'Sure .'];
      return ['Leave at 17:00 .', { ...state, 'taxi-leaveat': ['17:00'] }, 'Booked .'];
    };
    const nine = validateDialogue(
      {
        ...dialogue(
          'T9',
          Array.from({ length: 9 }, (_, i) => taxi(i)),
        ),
        services: ['taxi'],
      },
      deps,
    );
    expect(codes(nine)).toEqual(['domain_cap_exceeded@8']);
    expect(nine.failures[0]?.detail).toMatch(/taxi: state changes span 9 user turns.*cap 8/);
    const eight = validateDialogue(
      dialogue('T8', [taxi(0), ...Array.from({ length: 6 }, (_, i) => taxi(i + 1)), taxi(8)]),
      deps,
    );
    expect(eight.accepted).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Real MultiWOZ 2.1 test dialogues
// ---------------------------------------------------------------------------------------------

describe('validateDialogue on real MultiWOZ 2.1 test dialogues', () => {
  let real: Dialogue[];
  let verdicts: Map<string, DialogueVerdict>;
  beforeAll(async () => {
    real = await loadDataset({ source: path.join(multiwozDir(), '2.1/test.json.zip'), split: 'test' });
    verdicts = new Map(real.map((d) => [d.id, validateDialogue(d, deps)]));
  });
  const failure = (id: string) => verdicts.get(id)?.failures ?? [];

  test('a clean dialogue is accepted (taxi to "Pizza Hut Fen Ditton" labelled "pizza hut fenditton")', () => {
    expect(verdicts.get('SNG0073')).toEqual({ id: 'SNG0073', accepted: true, failures: [] });
  });

  test('labels of the train the system offered break cumulativity (PMUL3596: leaveat 10:00 → 10:11)', () => {
    expect(failure('PMUL3596')).toContainEqual(
      expect.objectContaining({ reason: REASON.NOT_CUMULATIVE, turn: 5, slot: 'train-leaveat' }),
    );
  });

  test('a value nobody said is unrevealed (PMUL0745: 9 train tickets for "the same group" of 7)', () => {
    expect(failure('PMUL0745')).toContainEqual(
      expect.objectContaining({ reason: REASON.UNREVEALED, turn: 6, slot: 'train-bookpeople' }),
    );
  });

  test('too short, domain cap and name checks fire on real data', () => {
    expect(verdictReasons(verdicts.get('SNG0085')!)).toEqual([REASON.TOO_SHORT]);
    expect(verdictReasons(verdicts.get('MUL0789')!)).toContain(REASON.DOMAIN_CAP);
    expect(failure('MUL1060')).toContainEqual(
      expect.objectContaining({ reason: REASON.NAME_NO_MATCH, slot: 'attraction-name' }),
    );
  });

  test('summary over the 1,000 dialogues is consistent; real data is noisy (measured: 684 accepted)', () => {
    const all = [...verdicts.values()];
    const s = summariseVerdicts(all);
    expect(all).toHaveLength(1000);
    expect(s.accepted + s.rejected).toBe(1000);
    expect(s.accepted).toBe(all.filter((v) => v.accepted).length);
    expect(Object.keys(s.reasons).sort()).toEqual(Object.values(REASON).sort());
    for (const n of Object.values(s.reasons)) expect(n).toBeLessThanOrEqual(s.rejected);
    expect(s.reasons.invalid_llm_output).toBe(0);
    // A band, not the exact count, so small ontology/DB fixes elsewhere do not break this test.
    expect(s.accepted).toBeGreaterThan(550);
    expect(s.accepted).toBeLessThan(800);
    expect(s.reasons.unrevealed).toBeGreaterThan(s.reasons.name_no_match);
  });
});

describe('summariseVerdicts', () => {
  test('counts dialogues (not failures) per reason; every reason present', () => {
    const f = (reason: CheckFailure['reason']): CheckFailure => ({ reason, turn: 0, detail: '' });
    const s = summariseVerdicts([
      { id: 'a', accepted: true, failures: [] },
      {
        id: 'b',
        accepted: false,
        failures: [f(REASON.UNREVEALED), f(REASON.UNREVEALED), f(REASON.TOO_SHORT)],
      },
      { id: 'c', accepted: false, failures: [f(REASON.UNREVEALED)] },
    ]);
    expect(s.accepted).toBe(1);
    expect(s.rejected).toBe(2);
    expect(s.reasons.unrevealed).toBe(2);
    expect(s.reasons.too_short).toBe(1);
    expect(s.reasons.not_cumulative).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI, through the real entry point
// ---------------------------------------------------------------------------------------------

describe('dst-synth validate', () => {
  let dir: string;
  let first100: Dialogue[];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dst-validate-'));
    const all = await loadDataset({ source: path.join(multiwozDir(), '2.1/test.json.zip'), split: 'test' });
    first100 = all.slice(0, 100);
    await writeExport({ dialogues: first100, outDir: dir, layouts: ['multiwoz22'], split: 'test' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]) {
    const p = spawnCli(['validate', '--dialogues', path.join(dir, 'multiwoz22'), ...args], process.env);
    const code = await p.exited;
    return { code, out: p.output() };
  }

  test('--json: one object with counts, reasons and a verdict per dialogue, equal to the library', async () => {
    const { code, out } = await run(['--json']);
    expect(code).toBe(0);
    const json = JSON.parse(out) as {
      accepted: number;
      rejected: number;
      reasons: Record<string, number>;
      dialogues: Array<{ id: string; accepted: boolean; reasons: string[] }>;
    };
    expect(Object.keys(json).sort()).toEqual(['accepted', 'dialogues', 'reasons', 'rejected']);
    expect(json.accepted + json.rejected).toBe(100);
    expect(Object.keys(json.reasons).sort()).toEqual(Object.values(REASON).sort());
    expect(json.dialogues).toHaveLength(100);
    for (const d of json.dialogues) expect(Object.keys(d).sort()).toEqual(['accepted', 'id', 'reasons']);
    const expected = first100.map((d) => validateDialogue(d, deps));
    expect(json.dialogues).toEqual(
      expected.map((v) => ({ id: v.id, accepted: v.accepted, reasons: verdictReasons(v) })),
    );
    expect(json.accepted).toBe(summariseVerdicts(expected).accepted);
  });

  test('text: rejected dialogues with their reasons, then the counts', async () => {
    const { code, out } = await run([]);
    expect(code).toBe(0);
    expect(out).toMatch(/^\S+\trejected\t[a-z_]+/m);
    expect(out).not.toMatch(/\taccepted\t/);
    expect(out).toMatch(/accepted \d+ of 100 \(\d+\.\d%\), rejected \d+/);
  });
});
