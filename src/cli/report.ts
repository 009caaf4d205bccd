/**
 * `fraudflow report`: a replay's backtest report from its stored decisions, written as JSON and a self-contained
 * HTML page, and comparisons of two reports or of a champion and the challenger it scored in shadow.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { BacktestReport, PolicySource, ReplayTimes, ShadowAgreement } from '../replay/report';
import {
  buildBacktestReport,
  challengerRows,
  checkPolicySource,
  compareReports,
  describeRanking,
  describeThroughput,
  parseBacktestReport,
  renderComparisonHtml,
  renderReportHtml,
  reportTiming,
  shadowAgreement,
  tuningReplaysOf,
} from '../replay/report';
import type { ReplayReportSettings } from '../replay/store';
import { ReplayStore } from '../replay/store';
import { readJson } from '../schemas/json';
import type { LoadedPolicy } from '../scoring/policy-file';
import { defaultPolicyPath, loadPolicyFile } from '../scoring/policy-file';
import type { ScoringSettings } from '../scoring/settings';
import { scoringSettingsFromConfig } from '../scoring/settings';
import { connectClient } from '../temporal/client';
import { replayWorkflowId } from '../workflow-ids';

/** The thresholds and hosted prices a replay's report needs, from the settings the replay runs with. */
export function reportSettingsFor(config: Config, settings: ScoringSettings): ReplayReportSettings {
  const hosted = config.hosted.providers[0];
  return {
    policyHash: settings.policyHash,
    thresholds: { approveBelow: settings.policy.approveBelow, declineAt: settings.policy.declineAt },
    hostedPricing: { inputUsdPerMTok: hosted?.inputUsdPerMTok ?? 0, outputUsdPerMTok: hosted?.outputUsdPerMTok ?? 0 },
    recordedAt: new Date().toISOString(),
  };
}

function reportPaths(store: ReplayStore, replayId: string) {
  return { json: path.join(store.dir(replayId), 'report.json'), html: path.join(store.dir(replayId), 'report.html') };
}

export interface ReportMeta {
  /** The replay's times; the report's wall time is chosen from them and the saved report's (reportTiming). */
  times: Omit<ReplayTimes, 'now' | 'saved'>;
  policyHash: string;
  /** The policy file the replay decided with, when known: its provenance is checked against the replayed source. */
  policy?: LoadedPolicy;
  log: (l: string) => void;
}

export function writeReport(config: Config, replayId: string, meta: ReportMeta): BacktestReport {
  const store = new ReplayStore(config.replayDir);
  const rows = store.readResults(replayId);
  const first = rows[0]?.decision;
  const stored = store.readReportSettings(replayId);
  if (!stored) meta.log(`replay ${replayId} has no stored settings: its report uses today's thresholds and prices`);
  const { thresholds, hostedPricing } = stored ?? reportSettingsFor(config, scoringSettingsFromConfig(config));
  const paths = reportPaths(store, replayId);
  const saved = readSavedReport(paths.json);
  const timing = reportTiming({ ...meta.times, now: new Date().toISOString(), saved: saved && savedTiming(saved) });
  const report = buildBacktestReport(
    rows.map((r) => ({ decision: r.decision, label: r.label })),
    {
      replayId,
      policyHash: first?.policyHash ?? stored?.policyHash ?? meta.policyHash,
      thresholds,
      hostedPricing,
      ...timing,
      invalidRows: store.readInvalid(replayId),
      policySource: rows.length === 0 ? null : (policySourceOf(store, replayId, meta.policy) ?? saved?.policySource),
    },
  );
  fs.writeFileSync(paths.json, JSON.stringify(report, null, 2));
  fs.writeFileSync(paths.html, renderReportHtml(report));
  logSummary(report, paths, meta.log);
  return report;
}

function logSummary(report: BacktestReport, paths: { json: string; html: string }, log: (l: string) => void): void {
  const op = report.operatingPoints.decline;
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
  log(`report ${report.replayId}:`);
  log(
    `  decisions   approve ${report.decisions.byOutcome.approve}, review ${report.decisions.byOutcome.review}, decline ${report.decisions.byOutcome.decline}`,
  );
  log(`  at decline  precision ${pct(op.precision)}, recall ${pct(op.recall)}, F1 ${pct(op.f1)}`);
  log(`  first pass  ${describeRanking(report)}`);
  log(
    `  escalation  ${pct(report.escalation.rate)}; cost $${report.cost.actualUsd.toFixed(4)} vs hosted-only $${report.cost.hostedOnlyUsd.toFixed(4)} (savings ${report.cost.savingsPct === null ? 'n/a' : `${report.cost.savingsPct.toFixed(1)}%`})`,
  );
  log(`  throughput  ${describeThroughput(report)}`);
  const policyWarning = report.policySource?.warning;
  if (policyWarning) log(`  WARNING     ${policyWarning}`);
  for (const warning of report.warnings.filter((w) => w !== policyWarning)) log(`  warning     ${warning}`);
  log(`  ${paths.json}`);
  log(`  ${paths.html}`);
}

/** The report saved before, if it reads as one; a report of an earlier release or a broken file is simply replaced. */
function readSavedReport(file: string): BacktestReport | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return parseBacktestReport(readJson(fs.readFileSync(file, 'utf8'), file), file);
  } catch {
    return undefined;
  }
}

const savedTiming = (r: BacktestReport) => ({
  measuredOver: r.throughput.measuredOver,
  startedAt: r.startedAt,
  finishedAt: r.finishedAt,
});

/** The policy's tuning source against this replay's; undefined when the policy or the replay's source is unknown. */
function policySourceOf(
  store: ReplayStore,
  replayId: string,
  policy: LoadedPolicy | undefined,
): PolicySource | undefined {
  const replayed = store.readManifest(replayId)?.source;
  if (!policy || replayed === undefined) return undefined;
  const origin = {
    name: policy.policy.name,
    shipped: policy.hash === shippedPolicyHash(),
    tuningReplayIds: tuningReplaysOf(policy.policy.provenance),
  };
  return checkPolicySource(origin, replayed, (id) => {
    try {
      return store.readManifest(id)?.source;
    } catch {
      // Not a replay id this store can hold, or a manifest it cannot read: the source is unknown.
      return undefined;
    }
  });
}

/**
 * The configured policy file, when the replay decided with it (the settings stored at its start name the same
 * policyHash); undefined otherwise: a replay run under another policy is not judged by today's.
 */
export function configuredPolicyIfRanWith(config: Config, replayId: string): LoadedPolicy | undefined {
  const ranWith = new ReplayStore(config.replayDir).readReportSettings(replayId)?.policyHash;
  return ranWith === scoringSettingsFromConfig(config).policyHash ? config.scoringPolicy : undefined;
}

function shippedPolicyHash(): string | undefined {
  try {
    return loadPolicyFile(defaultPolicyPath).hash;
  } catch {
    return undefined;
  }
}

/**
 * The replay workflow's first run's start and its last run's close: it continues as new every few dozen chunks, so
 * the latest run alone (what `describe` answers) covers only the last of them.
 */
export async function replayWorkflowTimes(
  client: Client,
  replayId: string,
): Promise<{ replayStartedAt: string; replayClosedAt?: string }> {
  const handle = client.workflow.getHandle(replayWorkflowId(replayId));
  const latest = await handle.describe();
  const firstRunId = latest.raw.workflowExecutionInfo?.firstRunId;
  let startTime = latest.startTime;
  if (firstRunId && firstRunId !== latest.runId) {
    // The first run may be past retention: then the earliest start still known is the latest run's.
    startTime = await client.workflow
      .getHandle(replayWorkflowId(replayId), firstRunId)
      .describe()
      .then((d) => d.startTime)
      .catch(() => latest.startTime);
  }
  return { replayStartedAt: startTime.toISOString(), replayClosedAt: latest.closeTime?.toISOString() };
}

/** `fraudflow report --compare A B`: both reports side by side. */
export function compareCommand(config: Config, a: string, b: string, log: (l: string) => void = console.log): string {
  const store = new ReplayStore(config.replayDir);
  const [ra, rb] = [readReport(store, a), readReport(store, b)];
  const comparison = compareReports(ra, rb);
  const out = path.join(config.replayDir, `compare-${a}-vs-${b}.html`);
  fs.writeFileSync(out, renderComparisonHtml(ra, rb));
  for (const m of comparison.metrics) {
    log(
      `${m.label.padEnd(36)} ${String(m.a ?? 'n/a').padStart(12)} ${String(m.b ?? 'n/a').padStart(12)}  Δ ${m.delta ?? 'n/a'}`,
    );
  }
  log(out);
  return out;
}

/** `fraudflow report --compare <replayId>`: a replay's champion against the challenger it scored in shadow. */
export function compareShadowCommand(config: Config, replayId: string, log: (l: string) => void = console.log): string {
  const store = new ReplayStore(config.replayDir);
  const rows = store.readResults(replayId).map((r) => ({ decision: r.decision, label: r.label }));
  const challenger = rows.find((r) => r.decision.shadow)?.decision.shadow;
  if (!challenger) throw new Error(`replay ${replayId} scored no challenger in shadow (replay --shadow <tag>)`);
  const champion = readReport(store, replayId);
  const { hostedPricing } =
    store.readReportSettings(replayId) ?? reportSettingsFor(config, scoringSettingsFromConfig(config));
  const shadowReport = buildBacktestReport(challengerRows(rows), {
    replayId: `${replayId} challenger ${challenger.model}`,
    // As challengerRows keys the challenger's decisions: by its policy file's hash (it has no settings hash).
    policyHash: challenger.policyFileHash,
    thresholds: champion.thresholds,
    hostedPricing,
    startedAt: champion.startedAt,
    finishedAt: champion.finishedAt,
    measuredOver: champion.throughput.measuredOver,
    invalidRows: [],
  });
  const agreement = shadowAgreement(rows);
  if (agreement.unansweredEscalations > 0) shadowReport.warnings.push(unansweredWarning(agreement));
  const out = path.join(config.replayDir, `compare-${replayId}-shadow.html`);
  fs.writeFileSync(out, renderComparisonHtml(champion, shadowReport));
  for (const m of compareReports(champion, shadowReport).metrics) {
    log(
      `${m.label.padEnd(36)} ${String(m.a ?? 'n/a').padStart(12)} ${String(m.b ?? 'n/a').padStart(12)}  Δ ${m.delta ?? 'n/a'}`,
    );
  }
  for (const line of describeShadowAgreement(agreement)) log(line);
  log(out);
  return out;
}

/** The agreement of the two decision policies, with what each sent to the hosted tier beside it. */
export function describeShadowAgreement(a: ShadowAgreement): string[] {
  const pct = (r: number | null) => (r === null ? 'n/a' : `${(r * 100).toFixed(1)}%`);
  const lines = [
    `decision agreement (same decision policy): ${a.agreed} of ${a.scored} (${pct(a.agreementRate)})`,
    `escalation rate: champion ${pct(a.championEscalationRate)}, challenger ${pct(a.challengerEscalationRate)}`,
  ];
  if (a.unansweredEscalations > 0) lines.push(unansweredWarning(a));
  return lines;
}

const unansweredWarning = (a: ShadowAgreement) =>
  `${a.unansweredEscalations} escalation(s) the challenger would have made had no champion's hosted answer to reuse: ` +
  'judged as an ambiguous first pass not escalated (at least review), their hosted cost not counted';

/**
 * `fraudflow report <replayId>`: the report again from stored decisions, timed as the saved report was, else by the
 * replay workflow. The configured policy is checked against the replayed source only when the replay decided with it.
 */
export async function rebuildReport(config: Config, replayId: string): Promise<BacktestReport> {
  const client = await connectClient(config);
  try {
    return writeReport(config, replayId, {
      times: await replayWorkflowTimes(client, replayId),
      policyHash: '',
      policy: configuredPolicyIfRanWith(config, replayId),
      log: (l) => console.log(l),
    });
  } finally {
    await client.connection.close();
  }
}

/** A saved report, parsed: a file edited or written by another release fails here with what is wrong. */
function readReport(store: ReplayStore, replayId: string): BacktestReport {
  const file = reportPaths(store, replayId).json;
  return parseBacktestReport(readJson(fs.readFileSync(file, 'utf8'), file), file);
}
