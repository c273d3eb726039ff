/** Input and output of the `auditLabels` activity. Types only: workflows import this file. */
import type { LlmConfigInput } from '../llm/config';
import type { Convention } from '../metrics/conventions';
import type { Split } from '../multiwoz/types';
import type { LabellerOptions } from '../simulator/prompts';

export interface AuditLabelsInput {
  /** The pipeline run the scores belong to. */
  runId: string;
  /** The LLM whose labeller is audited (the generation run's). */
  llm: LlmConfigInput;
  /** Real dialogues, already imported, to label. */
  dataset: 'multiwoz21' | 'multiwoz22' | 'multiwoz24';
  split: Split;
  /** The first `limit` dialogues by id. */
  limit: number;
  conventions: Convention[];
  /** Slots shown to the labeller: the dialogue's domains (as generation) or all 30. */
  slots?: 'dialogue' | 'all';
  /** How the labeller is asked (the generation run's). Default `DEFAULT_LABELLER`. */
  labeller?: LabellerOptions;
  /** Training dialogues the labeller's examples come from (their train split). Default: the offline 2.1 train split. */
  train?: string;
}

export interface AuditLabelsSummary {
  convention: Convention;
  /** JGA after the checks. */
  jga: number;
  /** JGA of the labeller's raw answers. */
  rawJga: number;
  turns: number;
  dialogues: number;
}
