/**
 * The review set (`dst-synth review`): a seeded sample of accepted generated dialogues laid out
 * for a person to judge — each user turn with its state, what changed since the previous user
 * turn, and the checks' corrections — the verdict file they fill in, and the scores a filled
 * file gives (turn-level label accuracy, dialogue-level acceptance, role swaps).
 *
 * Pure: dialogues in, views, Markdown, templates and numbers out. `review-load.ts` reads the
 * dialogues (a folder or a run in Postgres), `review-html.ts` draws the page.
 */
import { z } from 'zod';
import { createRng, deriveSeed } from '../simulator/rng';
import type { DialogueState, Speaker } from '../multiwoz/types';
import { textTable } from '../common/text-table';

/** One turn as the reviewer sees it. */
export interface ReviewTurn {
  speaker: Speaker;
  utterance: string;
  /** Cumulative state after a user turn. */
  state?: DialogueState;
  /** System turns: the act the agent was allowed, when the run recorded it. */
  action?: string;
  /** System turns: the database entity it named (name or train id), when recorded. */
  entity?: string;
}

/** A failed check the simulator corrected, as stored with the accepted attempt. */
export interface ReviewCorrection {
  reason: string;
  /** 0-based user-turn index. */
  turn: number;
  slot?: string;
  detail: string;
}

export interface ReviewDialogue {
  id: string;
  services: string[];
  turns: ReviewTurn[];
  /** The checks' corrections; undefined when the source keeps no record of them (plain MultiWOZ files). */
  corrections?: ReviewCorrection[];
}

export interface ReviewSet {
  /** The folder (absolute) or the generation run id. */
  source: string;
  seed: number;
  /** Accepted dialogues the sample was drawn from. */
  total: number;
  dialogues: ReviewDialogue[];
}

/** Default sample size and seed of `review`. */
export const REVIEW_DEFAULTS = { sample: 20, seed: 1 } as const;

/**
 * `n` of `ids`, chosen by a seeded rank of each id (not of its position), returned in the
 * order given. So the same seed gives the same sample whatever order a reader lists the ids
 * in, a larger `n` keeps every dialogue of a smaller one, and a run that grows keeps the
 * earlier choices unless a new id ranks above them.
 */
export function sampleIds(ids: readonly string[], n: number, seed: number): string[] {
  const unique = [...new Set(ids)];
  // mulberry32 over the derived seed: deriveSeed alone is an FNV hash, too little mixing for near-identical ids.
  const rank = new Map(unique.map((id) => [id, createRng(deriveSeed(seed, id)).next()]));
  const chosen = new Set(
    [...unique]
      .sort((a, b) => rank.get(a)! - rank.get(b)! || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, Math.max(0, n)),
  );
  return unique.filter((id) => chosen.has(id));
}

/** How a slot of a user turn's state stands against the previous user turn's. */
export const SLOT_CHANGE = {
  ADDED: 'added',
  CHANGED: 'changed',
  REMOVED: 'removed',
  SAME: 'same',
} as const;
export type SlotChange = (typeof SLOT_CHANGE)[keyof typeof SLOT_CHANGE];

export interface SlotRow {
  slot: string;
  /** The value (alternatives joined by " / "); for a removed slot, the value it had. */
  value: string;
  change: SlotChange;
  /** For a changed slot: the value before. */
  previous?: string;
}

const valueText = (v: readonly string[] | undefined) => (v ?? []).join(' / ');

/** The state of a user turn against the previous one: every slot, sorted, removed ones included. */
export function stateRows(previous: DialogueState | undefined, state: DialogueState | undefined): SlotRow[] {
  const before = previous ?? {};
  const after = state ?? {};
  const slots = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return slots.map((slot): SlotRow => {
    const was = before[slot];
    const now = after[slot];
    if (!now) return { slot, value: valueText(was), change: SLOT_CHANGE.REMOVED };
    if (!was) return { slot, value: valueText(now), change: SLOT_CHANGE.ADDED };
    return valueText(was) === valueText(now)
      ? { slot, value: valueText(now), change: SLOT_CHANGE.SAME }
      : { slot, value: valueText(now), change: SLOT_CHANGE.CHANGED, previous: valueText(was) };
  });
}

export interface UserTurnView {
  speaker: 'USER';
  /** 0-based user-turn index (the index predictions, checks and verdicts use). */
  turn: number;
  utterance: string;
  rows: SlotRow[];
  corrections: ReviewCorrection[];
}

export interface SystemTurnView {
  speaker: 'SYSTEM';
  utterance: string;
  action?: string;
  entity?: string;
}

export type TurnView = UserTurnView | SystemTurnView;

/** The dialogue's turns with user-turn indexes, state rows against the previous user turn, and corrections. */
export function turnViews(d: ReviewDialogue): TurnView[] {
  let turn = 0;
  let previous: DialogueState | undefined;
  return d.turns.map((t): TurnView => {
    if (t.speaker === 'SYSTEM') {
      return {
        speaker: 'SYSTEM',
        utterance: t.utterance,
        ...(t.action ? { action: t.action } : {}),
        ...(t.entity ? { entity: t.entity } : {}),
      };
    }
    const i = turn++;
    const rows = stateRows(previous, t.state);
    previous = t.state;
    const corrections = (d.corrections ?? []).filter((c) => c.turn === i);
    return { speaker: 'USER', turn: i, utterance: t.utterance, rows, corrections };
  });
}

export const userTurnCount = (d: ReviewDialogue) => d.turns.filter((t) => t.speaker === 'USER').length;

/** Corrections whose turn is no user turn of the dialogue (shown with the dialogue, not lost). */
export function strayCorrections(d: ReviewDialogue): ReviewCorrection[] {
  const n = userTurnCount(d);
  return (d.corrections ?? []).filter((c) => c.turn < 0 || c.turn >= n);
}

// ---------------------------------------------------------------------------------------------
// The verdict file

/** The `format` of a verdict file; a later layout gets a new number. */
export const VERDICT_FORMAT = 'dst-synth-review/1';

/** What a verdict file says about filling it in (kept in the file, for those who fill it by hand). */
export const VERDICT_HELP =
  'Per user turn, label: "right" when the state after that turn is exactly what the dialogue so far says, ' +
  '"wrong" otherwise, null when not judged (note: optional, what is wrong). Per dialogue, role_swaps: how many ' +
  'turns a speaker talks as the other role (the agent asking the user for recommendations, the user offering ' +
  'help), 0 when none, null when not judged; accept: true when the dialogue is good training data, false when ' +
  'not, null when not judged; note: anything else. Score it with `dst-synth review --verdicts <this file>`.';

const LABEL_VALUES = ['right', 'wrong'] as const;
export type TurnLabel = (typeof LABEL_VALUES)[number];

const VerdictTurn = z
  .object({
    turn: z.number().int().min(0),
    label: z.enum(LABEL_VALUES, { error: 'expected "right", "wrong" or null' }).nullable(),
    note: z.string().optional(),
  })
  .strict();

const VerdictDialogue = z
  .object({
    dialogue_id: z.string().min(1),
    user_turns: z.number().int().min(0),
    turns: z.array(VerdictTurn),
    role_swaps: z
      .number({ error: 'expected a count (0 or more) or null' })
      .int('expected a whole number')
      .min(0, 'expected a count (0 or more) or null')
      .nullable(),
    accept: z.boolean({ error: 'expected true, false or null' }).nullable(),
    note: z.string().default(''),
  })
  .strict()
  .superRefine((d, ctx) => {
    const seen = new Set<number>();
    d.turns.forEach((t, i) => {
      if (t.turn >= d.user_turns)
        ctx.addIssue({
          code: 'custom',
          path: ['turns', i, 'turn'],
          message: `turn ${t.turn} is past the dialogue's ${d.user_turns} user turns (turns count from 0)`,
        });
      if (seen.has(t.turn))
        ctx.addIssue({ code: 'custom', path: ['turns', i, 'turn'], message: `turn ${t.turn} appears twice` });
      seen.add(t.turn);
    });
  });

const VerdictFileSchema = z
  .object({
    format: z.literal(VERDICT_FORMAT, { error: `expected "${VERDICT_FORMAT}"` }),
    help: z.string().optional(),
    source: z.string(),
    seed: z.number().int(),
    dialogues: z.array(VerdictDialogue),
  })
  .strict()
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.dialogues.forEach((d, i) => {
      if (seen.has(d.dialogue_id))
        ctx.addIssue({
          code: 'custom',
          path: ['dialogues', i, 'dialogue_id'],
          message: `dialogue ${d.dialogue_id} appears twice`,
        });
      seen.add(d.dialogue_id);
    });
  });

export type VerdictFile = z.infer<typeof VerdictFileSchema>;
export type DialogueVerdict = VerdictFile['dialogues'][number];

/** The verdict file to fill in: one entry per sampled dialogue, one per user turn, all unjudged. */
export function verdictTemplate(set: ReviewSet): VerdictFile {
  return {
    format: VERDICT_FORMAT,
    help: VERDICT_HELP,
    source: set.source,
    seed: set.seed,
    dialogues: set.dialogues.map((d) => {
      const n = userTurnCount(d);
      return {
        dialogue_id: d.id,
        user_turns: n,
        turns: Array.from({ length: n }, (_, turn) => ({ turn, label: null })),
        role_swaps: null,
        accept: null,
        note: '',
      };
    }),
  };
}

/** `$.dialogues[1].turns[0].label` from a zod issue path. */
function jsonPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : `${s}.${String(k)}`), '$');
}

/**
 * A filled verdict file.
 * @throws Error naming `file` and each problem (where in the file, and what was expected).
 */
export function parseVerdicts(text: string, file: string): VerdictFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const r = VerdictFileSchema.safeParse(data);
  if (r.success) return r.data;
  const problems = r.error.issues.slice(0, 10).map((i) => `  ${jsonPath(i.path)}: ${i.message}`);
  const more = r.error.issues.length > 10 ? [`  … and ${r.error.issues.length - 10} more`] : [];
  throw new Error(
    `${file}: not a review verdict file (${VERDICT_FORMAT}):\n${[...problems, ...more].join('\n')}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Scores

export interface DialogueScore {
  dialogueId: string;
  userTurns: number;
  right: number;
  wrong: number;
  /** User turns without a label (listed as null, or not listed at all). */
  unjudged: number;
  roleSwaps: number | null;
  accept: boolean | null;
}

export interface VerdictScore {
  source: string;
  dialogues: number;
  turns: { right: number; wrong: number; judged: number; unjudged: number; accuracy: number | null };
  acceptance: { accepted: number; rejected: number; judged: number; unjudged: number; rate: number | null };
  roleSwaps: {
    total: number;
    /** Dialogues with a role-swap count (0 included). */
    judged: number;
    unjudged: number;
    /** Judged dialogues with at least one swap. */
    dialoguesWithSwap: number;
    perDialogue: number | null;
    /** User turns of the judged dialogues: the denominator of `per100UserTurns`. */
    userTurns: number;
    per100UserTurns: number | null;
  };
  perDialogue: DialogueScore[];
}

const ratio = (a: number, b: number) => (b ? a / b : null);

function dialogueScore(d: DialogueVerdict): DialogueScore {
  const right = d.turns.filter((t) => t.label === 'right').length;
  const wrong = d.turns.filter((t) => t.label === 'wrong').length;
  return {
    dialogueId: d.dialogue_id,
    userTurns: d.user_turns,
    right,
    wrong,
    unjudged: d.user_turns - right - wrong,
    roleSwaps: d.role_swaps,
    accept: d.accept,
  };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Turn-level label accuracy, dialogue-level acceptance and role swaps of a filled verdict file. */
export function scoreVerdicts(v: VerdictFile): VerdictScore {
  const per = v.dialogues.map(dialogueScore);
  const right = sum(per.map((d) => d.right));
  const wrong = sum(per.map((d) => d.wrong));
  const accepted = per.filter((d) => d.accept === true).length;
  const rejected = per.filter((d) => d.accept === false).length;
  const swapped = per.filter((d) => d.roleSwaps !== null);
  const total = sum(swapped.map((d) => d.roleSwaps ?? 0));
  const userTurns = sum(swapped.map((d) => d.userTurns));
  const per100 = ratio(total, userTurns);
  return {
    source: v.source,
    dialogues: per.length,
    turns: {
      right,
      wrong,
      judged: right + wrong,
      unjudged: sum(per.map((d) => d.unjudged)),
      accuracy: ratio(right, right + wrong),
    },
    acceptance: {
      accepted,
      rejected,
      judged: accepted + rejected,
      unjudged: per.length - accepted - rejected,
      rate: ratio(accepted, accepted + rejected),
    },
    roleSwaps: {
      total,
      judged: swapped.length,
      unjudged: per.length - swapped.length,
      dialoguesWithSwap: swapped.filter((d) => (d.roleSwaps ?? 0) > 0).length,
      perDialogue: ratio(total, swapped.length),
      userTurns,
      per100UserTurns: per100 === null ? null : per100 * 100,
    },
    perDialogue: per,
  };
}

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null, digits = 2) => (x === null ? '–' : x.toFixed(digits));
/** "1 dialogue", "3 dialogues". */
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
const yesNo = (x: boolean | null) => (x === null ? '–' : x ? 'yes' : 'no');

/** The scores as the console prints them: the totals, then one row per dialogue. */
export function verdictScoreText(s: VerdictScore, file: string): string {
  const t = s.turns;
  const a = s.acceptance;
  const r = s.roleSwaps;
  const totals = textTable([
    ['measure', 'value', 'of judged', 'unjudged'],
    ['turn labels right', pct(t.accuracy), `${t.right}/${t.judged} turns`, plural(t.unjudged, 'turn')],
    [
      'dialogues accepted',
      pct(a.rate),
      `${a.accepted}/${a.judged} dialogues`,
      plural(a.unjudged, 'dialogue'),
    ],
    [
      'role swaps per dialogue',
      num(r.perDialogue),
      `${r.total} in ${r.judged} dialogues`,
      plural(r.unjudged, 'dialogue'),
    ],
    ['role swaps per 100 user turns', num(r.per100UserTurns, 1), `${r.total} in ${r.userTurns} turns`, ''],
    ['dialogues with a role swap', String(r.dialoguesWithSwap), `of ${r.judged} dialogues`, ''],
  ]);
  const rows = textTable([
    ['dialogue', 'user turns', 'right', 'wrong', 'unjudged', 'role swaps', 'accept'],
    ...s.perDialogue.map((d) => [
      d.dialogueId,
      String(d.userTurns),
      String(d.right),
      String(d.wrong),
      String(d.unjudged),
      d.roleSwaps === null ? '–' : String(d.roleSwaps),
      yesNo(d.accept),
    ]),
  ]);
  return [
    `review verdicts ${file} (source ${s.source}, ${s.dialogues} dialogues)`,
    '',
    totals,
    '',
    rows,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Markdown

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function slotCell(r: SlotRow): string {
  if (r.change === SLOT_CHANGE.ADDED) return `**${cell(r.value)}** (new)`;
  if (r.change === SLOT_CHANGE.CHANGED) return `~~${cell(r.previous ?? '')}~~ → **${cell(r.value)}**`;
  if (r.change === SLOT_CHANGE.REMOVED) return `~~${cell(r.value)}~~ (removed)`;
  return cell(r.value);
}

function correctionText(c: ReviewCorrection): string {
  return `\`${c.reason}\`${c.slot ? ` ${c.slot}` : ''}: ${c.detail}`;
}

function userTurnMarkdown(t: UserTurnView): string[] {
  return [
    `**User ${t.turn + 1}** (turn ${t.turn}): ${t.utterance}`,
    '',
    ...(t.rows.length
      ? ['| slot | value |', '|---|---|', ...t.rows.map((r) => `| ${r.slot} | ${slotCell(r)} |`)]
      : ['_state: empty_']),
    '',
    ...t.corrections.map((c) => `- corrected: ${correctionText(c)}`),
    ...(t.corrections.length ? [''] : []),
    `Turn ${t.turn} labels: [ ] right · [ ] wrong`,
    '',
  ];
}

function systemTurnMarkdown(t: SystemTurnView): string[] {
  const act = [t.action, t.entity].filter(Boolean).join(' · ');
  return [`Agent: ${t.utterance}${act ? ` _(${act})_` : ''}`, ''];
}

function dialogueMarkdown(d: ReviewDialogue, i: number): string[] {
  const stray = strayCorrections(d);
  return [
    `## ${i + 1}. ${d.id}`,
    '',
    `${d.services.join(', ') || 'no domain'} · ${userTurnCount(d)} user turns · ${correctionCount(d)}`,
    '',
    ...stray.map((c) => `- corrected (turn ${c.turn}): ${correctionText(c)}`),
    ...(stray.length ? [''] : []),
    ...turnViews(d).flatMap((t) => (t.speaker === 'USER' ? userTurnMarkdown(t) : systemTurnMarkdown(t))),
    'Role swaps: ___ · Accept: [ ] yes · [ ] no · Note: ___',
    '',
  ];
}

/** "2 corrections", or that the source keeps none. */
export function correctionCount(d: ReviewDialogue): string {
  if (!d.corrections) return 'no record of corrections';
  const n = d.corrections.length;
  return n === 1 ? '1 correction' : `${n} corrections`;
}

/** The review set as Markdown: the same dialogues, states and corrections as the page. */
export function reviewMarkdown(set: ReviewSet): string {
  return [
    `# Review set: ${set.dialogues.length} of ${set.total} accepted dialogues`,
    '',
    `Source \`${set.source}\`, seed ${set.seed}. Bold: a slot new or changed since the previous user turn; struck: its old or removed value. Record verdicts in \`verdicts.json\` beside this file (or with the page's form), then run \`dst-synth review --verdicts verdicts.json\`.`,
    '',
    ...set.dialogues.flatMap(dialogueMarkdown),
  ].join('\n');
}
