/**
 * A replay with a challenger in shadow (real stack): every replayed decision carries the challenger's answer through
 * the decision policy, and `report --compare <replayId>` puts the champion and the challenger side by side on the
 * labelled rows, with their agreement and escalation rates.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { runReplayCommand } from '../../src/cli/replay';
import { compareShadowCommand } from '../../src/cli/report';
import { ReplayStore } from '../../src/replay/store';

describe('replay with a challenger in shadow', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-replay-shadow-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('records the challenger on every row and compares it with the champion', async () => {
    const config = loadConfig({
      ...process.env,
      REPLAY_DIR: path.join(tmp, 'replays'),
      TASK_QUEUE_PREFIX: `test-replay-shadow-${randomUUID().slice(0, 8)}`,
      HOSTED_ESCALATION_ENABLED: 'false',
      SHADOW_SCORING_CONCURRENCY: '2',
      // What the challenger decides is under test here, not how fast: a busy machine must not turn answers into timeouts.
      SHADOW_TIMEOUT_MS: '60000',
      METRICS_PORT: '0',
      SDK_METRICS_PORT: '0',
    });
    const generator = createTransactionGenerator({ seed: 5, fraudShare: 0.3, idPrefix: `shadow-${randomUUID()}` });
    const file = path.join(tmp, 'history.jsonl');
    fs.writeFileSync(file, Array.from({ length: 24 }, () => JSON.stringify(generator.next())).join('\n') + '\n');
    // The challenger: the configured policy with stricter review and decline thresholds, on the same model.
    const challenger = {
      ...config.scoringPolicy.policy,
      name: 'replay-challenger',
      thresholds: { ...config.scoringPolicy.policy.thresholds, reviewAt: 0.01, declineAt: 0.02 },
    };
    const policyFile = path.join(tmp, 'challenger.json');
    fs.writeFileSync(policyFile, `${JSON.stringify(challenger, null, 1)}\n`);

    const report = await runReplayCommand(config, {
      source: file,
      chunkSize: 12,
      chunkParallelism: 2,
      workers: true,
      shadow: { model: config.localModel.model, policyFile },
      log: () => undefined,
    });
    const rows = new ReplayStore(config.replayDir).readResults(report.replayId);
    expect(rows).toHaveLength(24);
    const gaps: number[] = [];
    for (const r of rows) {
      // Escalation is off: the challenger goes through the decision policy without ever asking the hosted tier.
      expect(r.decision.shadow).toMatchObject({ model: config.localModel.model, outcome: 'ok', wouldEscalate: false });
      if (r.decision.path !== 'fallback') {
        expect(r.decision.shadow!.path).toBe(r.decision.path === 'rules' ? 'rules' : 'local');
      }
      expect(r.decision.shadow!.agrees).toBe(r.decision.shadow!.decision === r.decision.decision);
      // A rule decline scores 1 without a model; only the first passes compare.
      if (r.decision.path === 'local') gaps.push(Math.abs(r.decision.shadow!.riskScore! - r.decision.riskScore));
    }
    // Same model and calibration: about the same first-pass probability. Ollama's embeddings vary slightly with
    // what else is in the batch, and near the middle of the calibration curve that moves one row by up to ~0.06.
    expect(gaps.length).toBeGreaterThan(0);
    expect(Math.max(...gaps)).toBeLessThan(0.15);
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeLessThan(0.03);
    const lines: string[] = [];
    const out = compareShadowCommand(config, report.replayId, (l) => lines.push(l));
    expect(fs.existsSync(out)).toBe(true);
    expect(lines.length).toBeGreaterThan(3);
    // The agreement of the two decision policies, with both escalation rates beside it.
    const agreed = rows.filter((r) => r.decision.shadow!.agrees).length;
    expect(lines).toContain(
      `decision agreement (same decision policy): ${agreed} of 24 (${((agreed / 24) * 100).toFixed(1)}%)`,
    );
    expect(lines).toContain('escalation rate: champion 0.0%, challenger 0.0%');
    const flagged = rows.filter((r) => r.decision.shadow!.decision !== 'approve').length;
    const championFlagged = rows.filter((r) => r.decision.decision !== 'approve').length;
    expect(flagged).toBeGreaterThanOrEqual(championFlagged);
  }, 600_000);
});
