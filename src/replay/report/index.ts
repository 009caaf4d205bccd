/**
 * Backtest reports: built from a replay's scored rows (metrics), timed (timing), with the policy's tuning source
 * checked against the replayed one (policy-source), checked when read back (schema), compared (comparison) and
 * rendered as one self-contained HTML page (html, with its charts, page and format helpers).
 */
export type { BacktestOptions, ScoredRow } from './metrics';
export { buildBacktestReport, challengerRows, shadowAgreement } from './metrics';
export type { ShadowAgreement } from './metrics';
export { compareReports } from './comparison';
export { describeRanking, describeThroughput } from './format';
export { renderComparisonHtml, renderReportHtml } from './html';
export type { PolicyOrigin } from './policy-source';
export { checkPolicySource, sourceIdentity, tuningReplaysOf } from './policy-source';
export { BacktestReport, PolicySource, parseBacktestReport } from './schema';
export type { ReplayTimes, ReportTiming } from './timing';
export { rateOrigin, reportTiming } from './timing';
