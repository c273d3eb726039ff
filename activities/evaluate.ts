import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db/client';
import { newestImport } from '../db/newest-import';
import { saveEvaluation } from '../db/evaluations';
import { goldAsPredictions } from '../metrics/write-gold';
import { readPredictions, score } from '../metrics/score';
import type { Dialogue } from '../multiwoz/types';
import { REFERENCE_PREDICTOR, type EvaluateInput, type EvaluationSummary } from './evaluate-types';
import { withHeartbeat } from './heartbeat';
import { FAILURE } from '../common/failure-types';

export interface EvaluateActivityDeps {
  db: Db;
}

/** Scores stored gold dialogues against predictions and stores one row per convention. */
export function createEvaluateActivities(deps: EvaluateActivityDeps) {
  return {
    // Loading a test split and scoring it under every convention takes minutes on a busy
    // worker, with no progress point: heartbeat on a timer (the data queue's timeout is 5 min).
    evaluatePredictions: (input: EvaluateInput): Promise<EvaluationSummary[]> =>
      withHeartbeat(() => evaluatePredictions(deps.db, input)),
  };
}

async function evaluatePredictions(db: Db, input: EvaluateInput): Promise<EvaluationSummary[]> {
  let gold = await loadGold(db, input);
  if (gold.length === 0) {
    throw ApplicationFailure.nonRetryable(
      `no ${input.dataset}/${input.split} dialogues in the database: import them first`,
      FAILURE.NO_GOLD_DATA,
    );
  }
  const predictions = await predictionsFor(input, gold);
  if (input.onlyPredictedDialogues) {
    const ids = new Set(predictions.map((p) => p.dialogueId));
    gold = gold.filter((d) => ids.has(d.id));
  }
  const out: EvaluationSummary[] = [];
  for (const convention of input.conventions) {
    const report = score({ convention, gold, predictions });
    await saveEvaluation(
      db,
      { runId: input.runId, model: input.model, dataset: input.dataset, split: input.split, convention },
      report,
    );
    out.push({
      convention,
      jga: report.jga,
      slotAccuracy: report.slotAccuracy,
      slotF1: report.slotF1,
      turns: report.turns,
      missingPredictions: report.missingPredictions,
    });
  }
  return out;
}

function loadGold(db: Db, input: EvaluateInput): Promise<Dialogue[]> {
  return newestImport(db, input.dataset, input.split);
}

async function predictionsFor(input: EvaluateInput, gold: Dialogue[]) {
  if (input.model === REFERENCE_PREDICTOR.ORACLE) return goldAsPredictions(gold);
  if (input.model === REFERENCE_PREDICTOR.EMPTY) return [];
  if (!input.predictionsPath) {
    throw ApplicationFailure.nonRetryable(
      `model ${input.model}: no predictions file given`,
      FAILURE.INVALID_INPUT,
    );
  }
  try {
    return await readPredictions(input.predictionsPath);
  } catch (e) {
    throw ApplicationFailure.nonRetryable((e as Error).message, FAILURE.INVALID_PREDICTIONS);
  }
}
