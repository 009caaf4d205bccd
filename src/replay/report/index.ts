/** Backtest reports: built from a replay's scored rows, compared, and rendered as HTML. */
export type { BacktestOptions, ScoredRow } from './metrics';
export { buildBacktestReport, challengerRows } from './metrics';
export { compareReports } from './comparison';
export { renderComparisonHtml, renderReportHtml } from './html';
export { BacktestReport, parseBacktestReport } from './schema';
