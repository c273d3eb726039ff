/** The LUAS paper's numbers (DESIGN.md §4), shown next to ours for reference. */
export const PAPER = {
  model: 'LLaMA-2-7B, full fine-tuning, one epoch per stage',
  rows: [
    { setting: 'MultiWOZ 2.2, all real', baseline: 65.42, twoStage: 66.25 },
    { setting: 'MultiWOZ 2.4, all real', baseline: 77.2, twoStage: 78.2 },
    { setting: 'MultiWOZ 2.2, 1k real', baseline: 58.77, twoStage: 63.06 },
    { setting: 'MultiWOZ 2.4, 1k real', baseline: 64.6, twoStage: 69.69 },
  ],
  domainReplacementCost: 0.75,
} as const;

/** The same numbers keyed for the experiment-matrix tables (`reporting/matrix.ts`). */
export const PAPER_MATRIX = {
  model: PAPER.model,
  allReal: {
    multiwoz22: { baseline: 65.42, twoStage: 66.25 },
    multiwoz24: { baseline: 77.2, twoStage: 78.2 },
  } as Partial<Record<string, { baseline: number; twoStage: number }>>,
  k1000: {
    multiwoz22: { baseline: 58.77, twoStage: 63.06 },
    multiwoz24: { baseline: 64.6, twoStage: 69.69 },
  } as Partial<Record<string, { baseline: number; twoStage: number }>>,
  domainReplacementCost: { multiwoz22: 0.75 },
} as const;
