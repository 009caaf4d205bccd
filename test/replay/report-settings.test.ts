/**
 * `fraudflow report <id>` draws a replay's report with the thresholds and hosted prices the replay ran with, stored
 * in its folder when it started, not with today's configuration.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { runReplayCommand } from '../../src/cli/replay';
import { rebuildReport, writeReport } from '../../src/cli/report';
import type { BacktestReport } from '../../src/replay/report';
import { ReplayStore } from '../../src/replay/store';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import { scriptedPolicyFile } from '../support/pipeline';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-report-settings-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A configuration with these thresholds and first-provider prices; everything else shared. */
function configWith(
  replayDir: string,
  taskQueuePrefix: string,
  policy: { approveBelow: number; declineAt: number },
  usd: [number, number],
  extra: Record<string, string> = {},
) {
  return loadConfig({
    ...process.env,
    REPLAY_DIR: replayDir,
    TASK_QUEUE_PREFIX: taskQueuePrefix,
    HOSTED_ESCALATION_ENABLED: 'false',
    SCORE_APPROVE_BELOW: String(policy.approveBelow),
    SCORE_DECLINE_AT: String(policy.declineAt),
    REPORT_TEST_KEY: 'unused',
    HOSTED_PROVIDERS: JSON.stringify([
      {
        name: 'priced',
        baseURL: 'http://127.0.0.1:9/v1',
        apiKeyEnv: 'REPORT_TEST_KEY',
        model: 'frontier',
        inputUsdPerMTok: usd[0],
        outputUsdPerMTok: usd[1],
      },
    ]),
    ...extra,
  });
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as BacktestReport;

describe('report settings', () => {
  it("rebuilds a finished replay's report with the thresholds and prices it ran with", async () => {
    const model = await startHostedTestServer();
    model.setBehaviour(() => ({ kind: 'answer', riskScore: 0.1, confidence: 0.9 }));
    try {
      const file = path.join(tmp, 'rows.jsonl');
      const g = createTransactionGenerator({ seed: 313, fraudShare: 0.3, idPrefix: 'rs313' });
      fs.writeFileSync(file, Array.from({ length: 4 }, () => JSON.stringify(g.next())).join('\n') + '\n');
      const replayDir = path.join(tmp, 'store');
      const prefix = `test-report-settings-${randomUUID().slice(0, 8)}`;
      const scripted = { LOCAL_MODEL_BASE_URL: model.baseURL, SCORING_POLICY_FILE: scriptedPolicyFile };
      const then = configWith(replayDir, prefix, { approveBelow: 0.3, declineAt: 0.6 }, [2, 8], scripted);
      const report = await runReplayCommand(then, {
        source: file,
        chunkSize: 4,
        chunkParallelism: 1,
        rowParallelism: 2,
        workers: true,
        log: () => undefined,
      });
      expect(report.counts.scored).toBe(4);
      expect(report.thresholds).toEqual({ approveBelow: 0.3, declineAt: 0.6 });
      // Timed over the command that started the replay; the test policy names no replay it was tuned on.
      expect(report.throughput.measuredOver).toBe('command');
      expect(report.policySource).toMatchObject({ policy: 'test-generated-score', verdict: 'unknown' });
      const stored = new ReplayStore(replayDir).readReportSettings(report.replayId);
      expect(stored).toMatchObject({
        thresholds: { approveBelow: 0.3, declineAt: 0.6 },
        hostedPricing: { inputUsdPerMTok: 2, outputUsdPerMTok: 8 },
      });

      // Today the configuration says otherwise; the rebuilt report still shows the replay's own settings.
      const today = configWith(replayDir, prefix, { approveBelow: 0.5, declineAt: 0.9 }, [50, 200], scripted);
      const rebuilt = await rebuildReport(today, report.replayId);
      expect(rebuilt.thresholds).toEqual({ approveBelow: 0.3, declineAt: 0.6 });
      expect(rebuilt.cost.hostedPricing).toEqual({ inputUsdPerMTok: 2, outputUsdPerMTok: 8 });
      expect(rebuilt.cost.hostedOnlyUsd).toBe(report.cost.hostedOnlyUsd);
      // The wall time the replay command took, and the policy check made with the policy it ran with, are kept.
      expect(rebuilt.throughput).toEqual(report.throughput);
      expect(rebuilt.policySource).toEqual(report.policySource);
      const onDisk = readJson(path.join(replayDir, report.replayId, 'report.json'));
      expect(onDisk.thresholds).toEqual({ approveBelow: 0.3, declineAt: 0.6 });
    } finally {
      await model.close();
    }
  });

  it("falls back to today's configuration, and says so, for a replay stored before settings were kept", () => {
    const replayDir = path.join(tmp, 'old-store');
    const store = new ReplayStore(replayDir);
    store.writeResults('old-replay', 0, []);
    const today = configWith(replayDir, 'unused', { approveBelow: 0.45, declineAt: 0.85 }, [3, 15]);
    const lines: string[] = [];
    const report = writeReport(today, 'old-replay', {
      times: { replayStartedAt: '2026-11-24T12:00:00.000Z', replayClosedAt: '2026-11-24T12:01:00.000Z' },
      policyHash: 'p',
      log: (l) => lines.push(l),
    });
    expect(report.thresholds).toEqual({ approveBelow: 0.45, declineAt: 0.85 });
    expect(report.cost.hostedPricing).toEqual({ inputUsdPerMTok: 3, outputUsdPerMTok: 15 });
    expect(lines[0]).toContain("no stored settings: its report uses today's thresholds and prices");
  });
});
