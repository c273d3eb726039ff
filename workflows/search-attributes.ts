import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so the Temporal UI can list and filter runs. The dev server gets
 * them by start flags; on any other cluster a worker adds the missing ones at start
 * (`worker/search-attributes.ts`).
 */
export const SA = {
  RUN_KIND: defineSearchAttributeKey('DstRunKind', SearchAttributeType.KEYWORD),
  RUN_STATUS: defineSearchAttributeKey('DstRunStatus', SearchAttributeType.KEYWORD),
  DONE: defineSearchAttributeKey('DstDone', SearchAttributeType.INT),
  TOTAL: defineSearchAttributeKey('DstTotal', SearchAttributeType.INT),
} as const;

const CLI_TYPE: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int', DOUBLE: 'Double', TEXT: 'Text' };

/** `name=Type` pairs for `temporal server start-dev --search-attribute`. */
export function searchAttributeFlags(): string[] {
  return Object.values(SA).map((k) => `${k.name}=${CLI_TYPE[k.type] ?? 'Keyword'}`);
}
