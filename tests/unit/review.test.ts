/**
 * The review set: seeded sampling, the state rows a reviewer reads, the self-contained page
 * (and its form, in headless Chromium), and the scores of a filled verdict file
 * (tests/fixtures/review, numbers checked by hand in its README).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  parseVerdicts,
  reviewMarkdown,
  sampleIds,
  scoreVerdicts,
  stateRows,
  turnViews,
  verdictScoreText,
  verdictTemplate,
  type ReviewSet,
  type UserTurnView,
} from '../../reporting/review';
import { reviewHtml } from '../../reporting/review-html';
import { reviewFromFolder } from '../../reporting/review-load';

const FIXTURES = path.resolve(__dirname, '../fixtures/review');
const SIM = path.join(FIXTURES, 'sim');
const FILLED = path.join(FIXTURES, 'verdicts-filled.json');
const MALFORMED = path.join(FIXTURES, 'verdicts-malformed.json');

const ids = Array.from({ length: 50 }, (_, i) => `SYN1-${String(i).padStart(6, '0')}`);

describe('sampling', () => {
  test('is seeded and stable: same seed, same dialogues, in the order given', () => {
    const a = sampleIds(ids, 5, 1);
    expect(a).toEqual(sampleIds(ids, 5, 1));
    // Pinned: a published review set must not change under a refactor.
    expect(a).toEqual(['SYN1-000007', 'SYN1-000011', 'SYN1-000013', 'SYN1-000016', 'SYN1-000046']);
    expect([...a].sort()).toEqual(a);
    expect(sampleIds(ids, 5, 2)).not.toEqual(a);
  });

  test('depends on the ids, not their order; a larger sample keeps a smaller one', () => {
    const reversed = [...ids].reverse();
    expect(new Set(sampleIds(reversed, 5, 1))).toEqual(new Set(sampleIds(ids, 5, 1)));
    const ten = sampleIds(ids, 10, 1);
    for (const id of sampleIds(ids, 5, 1)) expect(ten).toContain(id);
    // A grown run keeps the earlier choices unless a new id ranks above them.
    const grown = sampleIds([...ids, 'SYN1-000050', 'SYN1-000051'], 5, 1);
    expect(grown.filter((id) => ids.includes(id)).every((id) => sampleIds(ids, 5, 1).includes(id))).toBe(
      true,
    );
  });

  test('takes everything when the source has fewer dialogues', () => {
    expect(sampleIds(ids.slice(0, 3), 20, 7)).toEqual(ids.slice(0, 3));
    expect(sampleIds([], 20, 7)).toEqual([]);
  });
});

test('state rows: alternatives joined, every slot compared with the previous user turn', () => {
  expect(stateRows(undefined, { 'hotel-area': ['centre', 'center'] })).toEqual([
    { slot: 'hotel-area', value: 'centre / center', change: 'added' },
  ]);
  expect(stateRows({ 'hotel-area': ['centre'] }, {})).toEqual([
    { slot: 'hotel-area', value: 'centre', change: 'removed' },
  ]);
  expect(stateRows(undefined, undefined)).toEqual([]);
});

describe('a simulate folder', () => {
  let set: ReviewSet;
  beforeAll(async () => {
    set = await reviewFromFolder(SIM, { sample: 20, seed: 1 });
  });

  test('gives every accepted dialogue with its corrections and system acts', () => {
    expect(set.total).toBe(3);
    expect(set.dialogues.map((d) => d.id)).toEqual(['SYN3-000000', 'SYN3-000001', 'SYN3-000002']);
    const hotel = set.dialogues[1]!;
    expect(hotel.corrections?.map((c) => [c.reason, c.turn])).toEqual([
      ['not_mentioned', 1],
      ['not_cumulative', 2],
    ]);
    expect(hotel.turns[5]).toMatchObject({ speaker: 'SYSTEM', action: 'inform', entity: 'warkworth house' });
  });

  test('samples the same two dialogues for the same seed', async () => {
    const two = await reviewFromFolder(SIM, { sample: 2, seed: 1 });
    expect(two.dialogues.map((d) => d.id)).toEqual(
      sampleIds(['SYN3-000000', 'SYN3-000001', 'SYN3-000002'], 2, 1),
    );
    expect((await reviewFromFolder(SIM, { sample: 2, seed: 1 })).dialogues).toEqual(two.dialogues);
  });

  test('each user turn shows its state against the previous one and its corrections', () => {
    const views = turnViews(set.dialogues[1]!).filter((t): t is UserTurnView => t.speaker === 'USER');
    expect(views.map((v) => v.turn)).toEqual([0, 1, 2, 3]);
    const third = views[2]!;
    expect(third.rows).toEqual([
      { slot: 'hotel-area', value: 'east', change: 'changed', previous: 'north' },
      { slot: 'hotel-parking', value: 'yes', change: 'same' },
      { slot: 'hotel-pricerange', value: 'moderate', change: 'added' },
      { slot: 'hotel-type', value: 'hotel', change: 'removed' },
    ]);
    expect(third.corrections.map((c) => c.reason)).toEqual(['not_cumulative']);
  });

  test('a plain MultiWOZ file has no record of corrections', async () => {
    const plain = await reviewFromFolder(path.join(SIM, 'multiwoz22'), { sample: 1, seed: 1 });
    expect(plain.dialogues[0]!.corrections).toBeUndefined();
    expect(reviewMarkdown(plain)).toContain('no record of corrections');
  });

  test('HTML is self-contained and carries the verdict template', () => {
    const html = reviewHtml(set);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/(src|href)=["']?(https?:|\/\/)/);
    expect(html).not.toMatch(/<link|@import|url\(|<img|<iframe/);
    expect(html).toContain('<style>');
    expect(html.match(/<section class="dlg"/g)).toHaveLength(3);
    // 11 user turns: 8 change the state (a table of the changes), 3 change nothing.
    expect(html.match(/<table class="state">/g)).toHaveLength(8);
    expect(html.match(/<div class="empty">no change<\/div>/g)).toHaveLength(3);
    expect(html).toContain('not_cumulative');
    const json = /<script type="application\/json" id="verdict-template">(.*?)<\/script>/s.exec(html)?.[1];
    expect(JSON.parse(json ?? 'null')).toEqual(verdictTemplate(set));
  });

  test('an utterance cannot break out of the page', () => {
    const evil: ReviewSet = structuredClone(set);
    evil.dialogues[0]!.turns[0]!.utterance = '</script><script>alert(1)</script> <b>bold</b>';
    const html = reviewHtml(evil);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<b>bold</b>');
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });

  test('Markdown has the state tables, changes and corrections', () => {
    const md = reviewMarkdown(set);
    expect(md).toContain('## 2. SYN3-000001');
    expect(md).toContain('| hotel-area | ~~north~~ → **east** |');
    expect(md).toContain('| hotel-type | ~~hotel~~ (removed) |');
    expect(md).toContain("- corrected: `goal_mismatch` restaurant-bookday: labelled 'sat'");
  });

  test('the template lists every user turn unjudged and parses back', () => {
    const t = verdictTemplate(set);
    expect(t.dialogues.map((d) => [d.dialogue_id, d.user_turns, d.turns.length])).toEqual([
      ['SYN3-000000', 3, 3],
      ['SYN3-000001', 4, 4],
      ['SYN3-000002', 4, 4],
    ]);
    const back = parseVerdicts(JSON.stringify(t), 'verdicts.json');
    expect(back).toEqual(t);
    const s = scoreVerdicts(back);
    expect(s.turns).toEqual({ right: 0, wrong: 0, judged: 0, unjudged: 11, accuracy: null });
    expect(s.acceptance.rate).toBeNull();
  });
});

describe('verdicts', () => {
  test('a filled file gives label accuracy, acceptance and role swaps (hand-checked)', () => {
    const s = scoreVerdicts(parseVerdicts(readFileSync(FILLED, 'utf8'), FILLED));
    expect(s.dialogues).toBe(3);
    expect(s.turns).toEqual({ right: 6, wrong: 2, judged: 8, unjudged: 3, accuracy: 0.75 });
    expect(s.acceptance).toEqual({ accepted: 1, rejected: 1, judged: 2, unjudged: 1, rate: 0.5 });
    expect(s.roleSwaps).toEqual({
      total: 2,
      judged: 2,
      unjudged: 1,
      dialoguesWithSwap: 1,
      perDialogue: 1,
      userTurns: 7,
      per100UserTurns: (2 / 7) * 100,
    });
    expect(s.perDialogue[2]).toEqual({
      dialogueId: 'SYN3-000002',
      userTurns: 4,
      right: 1,
      wrong: 1,
      unjudged: 2,
      roleSwaps: null,
      accept: null,
    });
    const text = verdictScoreText(s, 'verdicts-filled.json');
    expect(text).toMatch(/turn labels right\s+75\.0%\s+6\/8 turns\s+3 turns/);
    expect(text).toMatch(/dialogues accepted\s+50\.0%\s+1\/2 dialogues\s+1 dialogue\n/);
    expect(text).toMatch(/role swaps per 100 user turns\s+28\.6\s+2 in 7 turns/);
    expect(text).toMatch(/SYN3-000001\s+4\s+2\s+1\s+1\s+2\s+no/);
  });

  test('a malformed file names the file and each problem', () => {
    const run = () => parseVerdicts(readFileSync(MALFORMED, 'utf8'), MALFORMED);
    expect(run).toThrow(MALFORMED);
    expect(run).toThrow('$.dialogues[0].turns[1].label: expected "right", "wrong" or null');
    expect(run).toThrow('$.dialogues[1].accept: expected true, false or null');
  });

  test.each([
    ['not JSON', '{"format": ', /v\.json: not JSON/],
    [
      'another file',
      '{"dialogues": []}',
      /v\.json: not a review verdict file[\s\S]*\$\.format: expected "dst-synth-review\/1"/,
    ],
    [
      'a turn twice',
      turnsFile([
        { turn: 0, label: 'right' },
        { turn: 0, label: 'wrong' },
      ]),
      /\$\.dialogues\[0\]\.turns\[1\]\.turn: turn 0 appears twice/,
    ],
    [
      'a turn past the end',
      turnsFile([{ turn: 2, label: 'right' }]),
      /turn 2 is past the dialogue's 2 user turns/,
    ],
    ['a typo in a key', turnsFile([{ turn: 0, lable: 'right' }]), /\$\.dialogues\[0\]\.turns\[0\]/],
    [
      'a negative swap count',
      turnsFile([], { role_swaps: -1 }),
      /\$\.dialogues\[0\]\.role_swaps: expected a count/,
    ],
  ])('%s is a clear error', (_name, text, message) => {
    expect(() => parseVerdicts(text, 'v.json')).toThrow(message);
  });
});

function turnsFile(turns: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    format: 'dst-synth-review/1',
    source: 'x',
    seed: 1,
    dialogues: [
      { dialogue_id: 'A', user_turns: 2, turns, role_swaps: null, accept: null, note: '', ...extra },
    ],
  });
}

describe('in headless Chromium', () => {
  const chromium = (args: string[]) =>
    execFileSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', ...args], {
      stdio: 'pipe',
      timeout: 60_000,
    }).toString();
  let dir: string;
  let set: ReviewSet;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dst-review-'));
    set = await reviewFromFolder(SIM, { sample: 20, seed: 1 });
  });

  test('the page renders (screenshot)', () => {
    const page = path.join(dir, 'review.html');
    const blank = path.join(dir, 'blank.html');
    writeFileSync(page, reviewHtml(set));
    writeFileSync(blank, '<!doctype html><html><body></body></html>');
    for (const [file, png] of [
      [page, 'review.png'],
      [blank, 'blank.png'],
    ] as const)
      chromium([
        `--user-data-dir=${path.join(dir, 'profile')}`,
        `--screenshot=${path.join(dir, png)}`,
        '--window-size=1200,1600',
        `file://${file}`,
      ]);
    expect(readFileSync(path.join(dir, 'review.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(statSync(path.join(dir, 'review.png')).size).toBeGreaterThan(
      5 * statSync(path.join(dir, 'blank.png')).size,
    );
  }, 90_000);

  test("the form's answers leave as a verdict file that scores", () => {
    // Answer some of the form as a person would, then read back what the page saved.
    const answer = `<script>
      function pick(sel){var e=document.querySelector(sel);e.checked=true;e.dispatchEvent(new Event('change',{bubbles:true}))}
      pick('input[name="d0t0"][value="right"]');pick('input[name="d0t1"][value="wrong"]');pick('input[name="d0a"][value="no"]');
      var n=document.querySelectorAll('section[data-i="1"] input.swaps')[0];n.value='2';n.dispatchEvent(new Event('input',{bubbles:true}));
      var k=Object.keys(localStorage).filter(function(x){return x.indexOf('dst-review:')===0})[0];
      var pre=document.createElement('pre');pre.id='saved';pre.textContent=localStorage.getItem(k);document.body.appendChild(pre);
    </script>`;
    const page = path.join(dir, 'form.html');
    writeFileSync(page, reviewHtml(set).replace('</body>', `${answer}</body>`));
    const dom = chromium([
      `--user-data-dir=${path.join(dir, 'profile-form')}`,
      '--dump-dom',
      `file://${page}`,
    ]);
    const saved = /<pre id="saved">(.*?)<\/pre>/s.exec(dom)?.[1] ?? '';
    const text = saved
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    const s = scoreVerdicts(parseVerdicts(text, 'form'));
    expect(s.turns).toMatchObject({ right: 1, wrong: 1, unjudged: 9 });
    expect(s.acceptance).toMatchObject({ accepted: 0, rejected: 1 });
    expect(s.perDialogue[1]!.roleSwaps).toBe(2);
    expect(dom).toContain('2/11 turns judged · 1/3 dialogues decided');
  }, 90_000);
});
