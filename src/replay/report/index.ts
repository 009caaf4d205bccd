/**
 * Backtest reports: built from a replay's scored rows (metrics), checked when read back (schema), compared
 * (comparison) and rendered as one self-contained HTML page (html, with its charts, page and format helpers).
 */
export type { BacktestOptions, ScoredRow } from './metrics';
export { buildBacktestReport, challengerRows } from './metrics';
export { compareReports } from './comparison';
export { renderComparisonHtml, renderReportHtml } from './html';
export { BacktestReport, parseBacktestReport } from './schema';
