/**
 * Replay sources: historical transactions read from JSONL or CSV files, streamed one record at a time. Every record
 * becomes a ReplayRow: an event, or an error row with its line number and raw text.
 */
export { ColumnMapping, parseColumnMapping } from './column-mapping';
export { creditCardTransactionsMapping, mappingFor } from './built-in-mappings';
export type { ReplayMappingName } from './built-in-mappings';
export { parseAmount, parseTimestamp } from './cell-values';
export { readCsv } from './csv';
export { readJsonl } from './jsonl';
export { jsonReplayRow } from './replay-row';
export type { ReplayRow } from './replay-row';
export { detectFormat } from './source-file';
