/** Task queues the workers serve (DESIGN.md §5). */
export const TASK_QUEUE = {
  /** LLM-bound work: simulate dialogues, label, check. */
  LLM: 'llm',
  /** Data work: import, assemble, export, metrics. */
  DATA: 'data',
  /** Training and prediction. */
  GPU: 'gpu',
} as const;
export type TaskQueue = (typeof TASK_QUEUE)[keyof typeof TASK_QUEUE];

/** Where workflows themselves run (orchestration only, cheap). */
export const WORKFLOW_TASK_QUEUE = TASK_QUEUE.DATA;
