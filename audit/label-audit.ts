/**
 * The label audit: the simulator's own labeller (`labelTurn`, the same prompt, decoding schema
 * and checks as generation) run over real annotated dialogues, turn by turn, and scored against
 * the human gold with the metrics code.
 *
 * Like generation it carries its own state forward: the previous state given to the labeller
 * is its own checked state after the previous turn, never the gold. One pass yields two
 * predictions per turn: the labeller's raw answer, and the state after the checks (what
 * generation stores). Which checks apply without a reveal plan is documented in
 * `simulator/label-turn.ts`.
 *
 * The labelled slots are those of the dialogue's tracked domains (its services and gold
 * domains), as generation lists the slots of the goal's domains; `slotScope: 'all'` lists all 30.
 *
 * The labeller is asked as `labeller` says (`LabellerOptions`, default `DEFAULT_LABELLER`, as
 * generation); its worked examples come from `retriever`, built over the training split only.
 */
import { ApplicationFailure } from '@temporalio/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidLlmOutputError } from '../llm/errors';
import type { LlmClient } from '../llm/types';
import { CONVENTIONS, type Convention } from '../metrics/conventions';
import { parsePredictions, predictionLine, type Prediction } from '../metrics/predictions';
import { dialogueDomains, score, type ScoreReport } from '../metrics/score';
import { slotErrors, type SlotErrors } from '../metrics/slot-errors';
import { canonicalSlot } from '../multiwoz/slots';
import { TRACKED_DOMAINS, type Dialogue, type DialogueState } from '../multiwoz/types';
import type { CheckDeps } from '../simulator/checks';
import { DEFAULT_LABELLER, labelSlotsFor, labelTurn } from '../simulator/label-turn';
import type { LabellerOptions } from '../simulator/prompts';
import type { TurnRetriever } from '../simulator/retrieval';
import type { CheckFailure, HistoryLine } from '../simulator/types';

/** One audited user turn. */
export interface AuditedTurn {
  /** The labeller's answer (slot → value, as written; update answers merged into the previous state). */
  raw: Record<string, string>;
  /** The update as written (update answers only). */
  update?: Record<string, string>;
  /** Training turns shown as examples (`dialogueId`, user-turn index). */
  examples?: Array<{ dialogueId: string; turn: number }>;
  /** The state after the checks. */
  state: Record<string, string>;
  failures: CheckFailure[];
  /** Set when the labeller's answer stayed invalid after the structured retry: the state is carried. */
  invalid?: string;
  /** Wall time of the labeller call, ms. */
  ms: number;
  promptTokens: number;
  /** Prompt tokens actually evaluated (the rest came from a local model's KV cache), when known. */
  evaluatedPromptTokens?: number;
  completionTokens: number;
}

export interface AuditedDialogue {
  id: string;
  turns: AuditedTurn[];
}

export type SlotScope = 'dialogue' | 'all';

export interface AuditProgress {
  turnsDone: number;
  turnsTotal: number;
  dialoguesDone: number;
  dialoguesTotal: number;
  /** JGA so far under the options' convention, raw and after checks. */
  runningJga: { raw: number; checked: number };
  /** Mean seconds per labeller call in this process (resumed turns excluded). */
  secondsPerTurn: number;
  etaSeconds: number;
}

export interface RunAuditOptions {
  llm: LlmClient;
  deps: CheckDeps;
  dialogues: readonly Dialogue[];
  /** Convention of the running JGA shown in progress. Default `trade`. */
  convention?: Convention;
  /** Labelled slots: the dialogue's domains (default, as generation) or all 30. */
  slotScope?: SlotScope;
  /** Dialogues already audited (resuming): reused, not asked again. */
  done?: ReadonlyMap<string, AuditedDialogue>;
  /** After each finished dialogue (to save it). */
  onDialogue?: (d: AuditedDialogue) => void | Promise<void>;
  /** After each turn (progress display, heartbeats). */
  onProgress?: (p: AuditProgress) => void;
  /** How the labeller is asked. Default `DEFAULT_LABELLER` (as generation). */
  labeller?: LabellerOptions;
  /** Worked examples for `labeller.examples` (training split only); without one, none. */
  retriever?: TurnRetriever;
  /** Attempts per call on retryable LLM failures (429, 5xx). Default 6. */
  maxAttempts?: number;
  signal?: AbortSignal;
}

const userTurnCount = (d: Dialogue) => d.turns.filter((t) => t.speaker === 'USER').length;

/** Tracked domains whose slots the labeller is shown for this dialogue. */
function domainsOf(d: Dialogue, scope: SlotScope): string[] {
  return scope === 'all' ? [...TRACKED_DOMAINS] : [...dialogueDomains(d)];
}

async function withRetry<T>(fn: () => Promise<T>, maxAttempts: number, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApplicationFailure) || err.nonRetryable || attempt >= maxAttempts) throw err;
      const hinted = typeof err.nextRetryDelay === 'number' ? err.nextRetryDelay : undefined;
      await sleep(Math.min(60_000, hinted ?? 1000 * 2 ** (attempt - 1)), undefined, { signal });
    }
  }
}

/** True when a predicted state is right for the gold turn under the convention (as `score`). */
function turnRight(convention: Convention, pred: Record<string, string>, gold: DialogueState | undefined) {
  const rules = CONVENTIONS[convention];
  const g = rules.gold(gold ?? {});
  const p = rules.pred(Object.fromEntries(Object.entries(pred).map(([k, v]) => [canonicalSlot(k), v])));
  return g.size === p.size && [...p].every(([slot, v]) => g.get(slot)?.has(v));
}

/** Labels every user turn of `dialogues` with the simulator's labeller. */
export async function runLabelAudit(opts: RunAuditOptions): Promise<AuditedDialogue[]> {
  const scope = opts.slotScope ?? 'dialogue';
  const convention = opts.convention ?? 'trade';
  const turnsTotal = opts.dialogues.reduce((n, d) => n + userTurnCount(d), 0);
  const out: AuditedDialogue[] = [];
  let turnsDone = 0;
  let askedMs = 0;
  let asked = 0;
  const right = { raw: 0, checked: 0 };
  const progress = (dialoguesDone: number) => {
    const spt = asked ? askedMs / asked / 1000 : 0;
    opts.onProgress?.({
      turnsDone,
      turnsTotal,
      dialoguesDone,
      dialoguesTotal: opts.dialogues.length,
      runningJga: {
        raw: turnsDone ? right.raw / turnsDone : 0,
        checked: turnsDone ? right.checked / turnsDone : 0,
      },
      secondsPerTurn: spt,
      etaSeconds: spt * (turnsTotal - turnsDone),
    });
  };
  for (const d of opts.dialogues) {
    opts.signal?.throwIfAborted();
    const goldTurns = d.turns.filter((t) => t.speaker === 'USER');
    const tally = (a: AuditedDialogue) =>
      a.turns.forEach((t, i) => {
        turnsDone++;
        if (turnRight(convention, t.raw, goldTurns[i]?.state)) right.raw++;
        if (turnRight(convention, t.state, goldTurns[i]?.state)) right.checked++;
      });
    const resumed = opts.done?.get(d.id);
    if (resumed && resumed.turns.length === goldTurns.length) {
      out.push(resumed);
      tally(resumed);
      progress(out.length);
      continue;
    }
    const slots = labelSlotsFor(domainsOf(d, scope), opts.deps.ontology);
    // One conversation per dialogue: a local model keeps its shared prompt prefix cached.
    const key = `audit/${d.id}`;
    const llm: LlmClient = {
      model: opts.llm.model,
      chat: (req) => opts.llm.chat({ cacheKey: key, ...req }),
      structured: (req) => opts.llm.structured({ cacheKey: key, ...req }),
    };
    const audited: AuditedDialogue = { id: d.id, turns: [] };
    const history: HistoryLine[] = [];
    let previous: Record<string, string> = {};
    let systemText = '';
    for (const t of d.turns) {
      history.push({ speaker: t.speaker, text: t.utterance });
      if (t.speaker !== 'USER') {
        systemText = t.utterance;
        continue;
      }
      const started = Date.now();
      const turn = audited.turns.length;
      let row: AuditedTurn;
      try {
        const r = await withRetry(
          () =>
            labelTurn({
              llm,
              deps: opts.deps,
              history: [...history],
              previous,
              slots,
              turn,
              systemText,
              options: opts.labeller ?? DEFAULT_LABELLER,
              retriever: opts.retriever,
              dialogueId: d.id,
            }),
          opts.maxAttempts ?? 6,
          opts.signal,
        );
        row = {
          raw: r.raw,
          ...(r.update ? { update: r.update } : {}),
          ...(r.examples ? { examples: r.examples } : {}),
          state: r.state,
          failures: r.failures,
          ms: Date.now() - started,
          promptTokens: r.call.usage.promptTokens,
          ...(r.call.usage.evaluatedPromptTokens !== undefined
            ? { evaluatedPromptTokens: r.call.usage.evaluatedPromptTokens }
            : {}),
          completionTokens: r.call.usage.completionTokens,
        };
      } catch (err) {
        if (!(err instanceof InvalidLlmOutputError)) throw err;
        // Generation would reject the attempt; here the turn keeps the previous state.
        row = {
          raw: { ...previous },
          state: { ...previous },
          failures: [],
          invalid: err.reason,
          ms: Date.now() - started,
          promptTokens: err.usage.promptTokens,
          completionTokens: err.usage.completionTokens,
        };
      }
      audited.turns.push(row);
      askedMs += row.ms;
      asked++;
      previous = row.state;
      turnsDone++;
      if (turnRight(convention, row.raw, t.state)) right.raw++;
      if (turnRight(convention, row.state, t.state)) right.checked++;
      progress(out.length);
    }
    out.push(audited);
    await opts.onDialogue?.(audited);
    progress(out.length);
  }
  return out;
}

/** The audit's predictions in the `eval` format, read back through the `eval` parser. */
export function auditPredictions(
  audited: readonly AuditedDialogue[],
  which: 'raw' | 'checked',
): Prediction[] {
  return parsePredictions(predictionLines(audited, which).join('\n'), `audit-${which}`);
}

/** Prediction lines (`eval --pred` format); raw values are kept as strings, as written. */
export function predictionLines(audited: readonly AuditedDialogue[], which: 'raw' | 'checked'): string[] {
  return audited.flatMap((d) =>
    d.turns.map((t, turn) =>
      predictionLine({
        dialogueId: d.id,
        turn,
        state: Object.fromEntries(
          Object.entries(which === 'raw' ? t.raw : t.state).map(([k, v]) => [k, String(v)]),
        ),
      }),
    ),
  );
}

export interface AuditSide {
  score: ScoreReport;
  slotErrors: SlotErrors[];
}

export interface AuditReport {
  convention: Convention;
  /** JGA after the checks (what generation stores), a fraction. */
  jga: number;
  turns: number;
  dialogues: number;
  raw: AuditSide;
  checked: AuditSide;
  /** Corrections the checks made, by reason (turn-level count of failed checks). */
  corrections: Record<string, number>;
  /** Turns whose labeller answer stayed invalid. */
  invalidAnswers: number;
  calls: number;
  promptTokens: number;
  /** Prompt tokens evaluated (not reused from a KV cache), over the calls that report it. */
  evaluatedPromptTokens?: number;
  completionTokens: number;
  /** Mean wall seconds per labeller call. */
  secondsPerCall: number;
}

/** Scores the audit against the gold of the audited dialogues under `convention`. */
export function scoreAudit(
  convention: Convention,
  gold: readonly Dialogue[],
  audited: readonly AuditedDialogue[],
): AuditReport {
  const ids = new Set(audited.map((a) => a.id));
  const scored = gold.filter((d) => ids.has(d.id));
  const side = (which: 'raw' | 'checked'): AuditSide => {
    const predictions = auditPredictions(audited, which);
    return {
      score: score({ convention, gold: scored, predictions }),
      slotErrors: slotErrors(convention, scored, predictions),
    };
  };
  const checked = side('checked');
  const corrections: Record<string, number> = {};
  const turns = audited.flatMap((a) => a.turns);
  for (const f of turns.flatMap((t) => t.failures)) corrections[f.reason] = (corrections[f.reason] ?? 0) + 1;
  const ms = turns.reduce((n, t) => n + t.ms, 0);
  const evaluated = turns.filter((t) => t.evaluatedPromptTokens !== undefined);
  return {
    convention,
    jga: checked.score.jga,
    turns: checked.score.turns,
    dialogues: checked.score.dialogues,
    raw: side('raw'),
    checked,
    corrections,
    invalidAnswers: turns.filter((t) => t.invalid).length,
    calls: turns.length,
    promptTokens: turns.reduce((n, t) => n + t.promptTokens, 0),
    ...(evaluated.length
      ? { evaluatedPromptTokens: evaluated.reduce((n, t) => n + (t.evaluatedPromptTokens ?? 0), 0) }
      : {}),
    completionTokens: turns.reduce((n, t) => n + t.completionTokens, 0),
    secondsPerCall: turns.length ? ms / turns.length / 1000 : 0,
  };
}
