/**
 * `fraudflow report`: a replay's backtest report from its stored decisions, written as JSON and a self-contained
 * HTML page, and comparisons of two reports or of a champion and the challenger it scored in shadow.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import type { BacktestReport } from '../replay/report';
import {
  buildBacktestReport,
  challengerRows,
  compareReports,
  parseBacktestReport,
  renderComparisonHtml,
  renderReportHtml,
} from '../replay/report';
import type { ReplayReportSettings } from '../replay/store';
import { ReplayStore } from '../replay/store';
import { readJson } from '../schemas/json';
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

export function writeReport(
  config: Config,
  replayId: string,
  meta: { startedAt: string; finishedAt: string; policyHash: string; log: (l: string) => void },
): BacktestReport {
  const store = new ReplayStore(config.replayDir);
  const rows = store.readResults(replayId);
  const first = rows[0]?.decision;
  const stored = store.readReportSettings(replayId);
  if (!stored) meta.log(`replay ${replayId} has no stored settings: its report uses today's thresholds and prices`);
  const { thresholds, hostedPricing } = stored ?? reportSettingsFor(config, scoringSettingsFromConfig(config));
  const report = buildBacktestReport(
    rows.map((r) => ({ decision: r.decision, label: r.label })),
    {
      replayId,
      policyHash: first?.policyHash ?? stored?.policyHash ?? meta.policyHash,
      thresholds,
      hostedPricing,
      startedAt: meta.startedAt,
      finishedAt: meta.finishedAt,
      invalidRows: store.readInvalid(replayId),
    },
  );
  const paths = reportPaths(store, replayId);
  fs.writeFileSync(paths.json, JSON.stringify(report, null, 2));
  fs.writeFileSync(paths.html, renderReportHtml(report));
  const op = report.operatingPoints.decline;
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
  meta.log(`report ${replayId}:`);
  meta.log(
    `  decisions   approve ${report.decisions.byOutcome.approve}, review ${report.decisions.byOutcome.review}, decline ${report.decisions.byOutcome.decline}`,
  );
  meta.log(`  at decline  precision ${pct(op.precision)}, recall ${pct(op.recall)}, F1 ${pct(op.f1)}`);
  meta.log(
    `  escalation  ${pct(report.escalation.rate)}; cost $${report.cost.actualUsd.toFixed(4)} vs hosted-only $${report.cost.hostedOnlyUsd.toFixed(4)} (savings ${report.cost.savingsPct === null ? 'n/a' : `${report.cost.savingsPct.toFixed(1)}%`})`,
  );
  meta.log(`  throughput  ${report.throughput.rowsPerSecond?.toFixed(1) ?? 'n/a'} rows/s`);
  meta.log(`  ${paths.json}`);
  meta.log(`  ${paths.html}`);
  return report;
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
    policyHash: challenger.policyHash,
    thresholds: champion.thresholds,
    hostedPricing,
    startedAt: champion.startedAt,
    finishedAt: champion.finishedAt,
    invalidRows: [],
  });
  const out = path.join(config.replayDir, `compare-${replayId}-shadow.html`);
  fs.writeFileSync(out, renderComparisonHtml(champion, shadowReport));
  for (const m of compareReports(champion, shadowReport).metrics) {
    log(
      `${m.label.padEnd(36)} ${String(m.a ?? 'n/a').padStart(12)} ${String(m.b ?? 'n/a').padStart(12)}  Δ ${m.delta ?? 'n/a'}`,
    );
  }
  log(out);
  return out;
}

/** `fraudflow report <replayId>`: the report again from stored decisions, timed by the replay workflow. */
export async function rebuildReport(config: Config, replayId: string): Promise<BacktestReport> {
  const client = await connectClient(config);
  try {
    const described = await client.workflow.getHandle(replayWorkflowId(replayId)).describe();
    return writeReport(config, replayId, {
      startedAt: described.startTime.toISOString(),
      finishedAt: (described.closeTime ?? new Date()).toISOString(),
      policyHash: '',
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
