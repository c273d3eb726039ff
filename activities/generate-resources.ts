/**
 * What a worker loads once and shares between generation activities: the venue database,
 * ontology, training dialogues with their reveal rates, and one budgeted LLM client per
 * LLM config.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createLlmClient, type LlmConfigInput } from '../llm/config';
import { createBudget, withBudget, type Budget, type BudgetOptions } from '../llm/limiter';
import type { LlmClient } from '../llm/types';
import { loadDataset } from '../multiwoz/loaders';
import { loadOntology, type Ontology } from '../multiwoz/ontology';
import { defaultTrainSource } from '../multiwoz/paths';
import type { Dialogue } from '../multiwoz/types';
import { loadVenueDb, type VenueDb } from '../multiwoz/venues';
import { estimateRevealStats, type RevealStats } from '../simulator/reveal';
import { buildTurnRetriever, heldOutIds, type TurnRetriever } from '../simulator/retrieval';
import { FAILURE } from '../common/failure-types';

export interface TrainingData {
  dialogues: Dialogue[];
  stats: RevealStats;
}

export interface GenerationResources {
  venues(): VenueDb;
  ontology(): Ontology;
  training(source?: string): Promise<TrainingData>;
  /** The labeller's example retriever over the training split of `source` (built once per source). */
  retriever(source?: string): Promise<TurnRetriever>;
  /** The client for a config, within this worker's budget for `budgetKey` (a run id). */
  llm(config: LlmConfigInput, budgetKey: string, budget: BudgetOptions): LlmClient;
  close(): Promise<void>;
}

export interface ResourceOptions {
  /** Builds a client (tests may point it elsewhere). Default `createLlmClient` with process.env. */
  createLlm?: (config: LlmConfigInput) => LlmClient;
  /** Worker-wide budget applied on top of each run's (flags `--rpm`/`--tpm`). */
  workerBudget?: BudgetOptions;
}

export function createGenerationResources(opts: ResourceOptions = {}): GenerationResources {
  let venues: VenueDb | undefined;
  let ontology: Ontology | undefined;
  const training = new Map<string, Promise<TrainingData>>();
  const retrievers = new Map<string, Promise<TurnRetriever>>();
  const clients = new Map<string, LlmClient>();
  const budgets = new Map<string, Budget>();
  const workerBudget =
    opts.workerBudget?.rpm || opts.workerBudget?.tpm ? createBudget(opts.workerBudget) : undefined;
  const create = opts.createLlm ?? ((c: LlmConfigInput) => createLlmClient(c));
  const resources: GenerationResources = {
    venues: () => (venues ??= loadVenueDb()),
    ontology: () => (ontology ??= loadOntology()),
    training(source = defaultTrainSource()) {
      let t = training.get(source);
      if (!t) {
        t = loadDataset({ source, split: 'train' }).then((dialogues) => ({
          dialogues,
          stats: estimateRevealStats(dialogues),
        }));
        t.catch(() => training.delete(source));
        training.set(source, t);
      }
      return t.catch((e: unknown) => {
        throw ApplicationFailure.nonRetryable(
          `training dialogues ${source}: ${(e as Error).message}`,
          FAILURE.INVALID_DATASET,
        );
      });
    },
    retriever(source = defaultTrainSource()) {
      let r = retrievers.get(source);
      if (!r) {
        r = Promise.all([resources.training(source), heldOutIds()]).then(([t, held]) =>
          buildTurnRetriever(t.dialogues, { split: 'train', excludeIds: held }),
        );
        r.catch(() => retrievers.delete(source));
        retrievers.set(source, r);
      }
      return r;
    },
    llm(config, budgetKey, budget) {
      const key = JSON.stringify(config);
      let base = clients.get(key);
      if (!base) {
        base = create(config);
        clients.set(key, base);
      }
      let client = base;
      if (workerBudget) client = withBudget(client, workerBudget);
      if (budget.rpm || budget.tpm) {
        let b = budgets.get(budgetKey);
        if (!b) budgets.set(budgetKey, (b = createBudget(budget)));
        else b.set(budget);
        client = withBudget(client, b);
      }
      return client;
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close?.()));
      clients.clear();
    },
  };
  return resources;
}
