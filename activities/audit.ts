/**
 * `auditLabels` (llm queue): the label audit (`audit/label-audit.ts`) as a pipeline step, with
 * the LLM that generated the run's data, so the report states how right its labels are. Scores
 * are stored in `evaluations` as models `labeller` (after checks) and `labeller-raw`.
 *
 * Heartbeats carry the finished dialogues, so a retried activity resumes after them.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { runLabelAudit, scoreAudit, type AuditedDialogue } from '../audit/label-audit';
import type { Db } from '../db/client';
import { newestImport } from '../db/newest-import';
import { saveEvaluation } from '../db/evaluations';
import type { Convention } from '../metrics/conventions';
import type { ScoreReport } from '../metrics/score';
import type { Dialogue } from '../multiwoz/types';
import { DEFAULT_LABELLER } from '../simulator/prompts';
import type { AuditLabelsInput, AuditLabelsSummary } from './audit-types';
import type { GenerationResources } from './generate-resources';
import { FAILURE } from '../common/failure-types';

export const LABELLER_MODEL = { CHECKED: 'labeller', RAW: 'labeller-raw' } as const;

export interface AuditActivityDeps {
  db: Db;
  resources: GenerationResources;
}

async function realDialogues(db: Db, input: AuditLabelsInput): Promise<Dialogue[]> {
  // Several imported versions of one split may coexist; the newest import wins per id.
  return (await newestImport(db, input.dataset, input.split)).slice(0, input.limit);
}

function store(
  db: Db,
  input: AuditLabelsInput,
  convention: Convention,
  model: string,
  report: ScoreReport & Record<string, unknown>,
) {
  return saveEvaluation(
    db,
    { runId: input.runId, model, dataset: input.dataset, split: input.split, convention },
    report,
  );
}

export function createAuditActivities(deps: AuditActivityDeps) {
  return {
    async auditLabels(input: AuditLabelsInput): Promise<AuditLabelsSummary[]> {
      const ctx = Context.current();
      const gold = await realDialogues(deps.db, input);
      if (!gold.length)
        throw ApplicationFailure.nonRetryable(
          `no ${input.dataset}/${input.split} dialogues in the database to audit the labeller on: import them first`,
          FAILURE.NO_GOLD_DATA,
        );
      const resumed = (ctx.info.heartbeatDetails as { done?: AuditedDialogue[] } | undefined)?.done ?? [];
      const done = [...resumed];
      let turns = 0;
      const labeller = input.labeller ?? DEFAULT_LABELLER;
      const audited = await runLabelAudit({
        llm: deps.resources.llm(input.llm, input.runId, {}),
        deps: { ontology: deps.resources.ontology(), db: deps.resources.venues() },
        dialogues: gold,
        slotScope: input.slots,
        labeller,
        ...(labeller.examples > 0 ? { retriever: await deps.resources.retriever(input.train) } : {}),
        done: new Map(resumed.map((d) => [d.id, d])),
        signal: ctx.cancellationSignal,
        onDialogue: (d) => {
          done.push(d);
        },
        onProgress: (p) => {
          turns = p.turnsDone;
          ctx.heartbeat({ done, turns });
        },
      });
      const out: AuditLabelsSummary[] = [];
      for (const convention of input.conventions) {
        const r = scoreAudit(convention, gold, audited);
        const extra = {
          corrections: r.corrections,
          invalidAnswers: r.invalidAnswers,
          secondsPerCall: r.secondsPerCall,
          llm: input.llm.model ?? input.llm.provider,
        };
        await store(deps.db, input, convention, LABELLER_MODEL.CHECKED, {
          ...r.checked.score,
          slotErrors: r.checked.slotErrors,
          ...extra,
        });
        await store(deps.db, input, convention, LABELLER_MODEL.RAW, {
          ...r.raw.score,
          slotErrors: r.raw.slotErrors,
          ...extra,
        });
        out.push({ convention, jga: r.jga, rawJga: r.raw.score.jga, turns: r.turns, dialogues: r.dialogues });
      }
      return out;
    },
  };
}
