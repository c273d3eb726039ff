/** Moved to `common/text-table.ts` (every layer prints tables); kept for `reporting/` modules. */
export { textTable } from '../common/text-table';
