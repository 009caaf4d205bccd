import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectClient } from '../../src/temporal/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { runReplayCommand } from '../../src/cli/replay';
import { ReplayStore } from '../../src/replay/store';
import { Decision } from '../../src/schemas/decision';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import { replayProgressQuery, replayWorkflowId } from '../../workflows/replay';
import type { replayWorkflow } from '../../workflows/replay';
import { scriptedPolicyFile } from '../support/pipeline';

const root = path.join(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-replay-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeJsonl(file: string, count: number, seed: number, extra: string[] = []): string[] {
  const g = createTransactionGenerator({ seed, fraudShare: 0.3, idPrefix: `rp${seed}` });
  const events = Array.from({ length: count }, () => g.next());
  fs.writeFileSync(file, [...events.map((e) => JSON.stringify(e)), ...extra].join('\n') + '\n');
  return events.map((e) => e.transactionId);
}

describe('replay', () => {
  it('replays a small labelled file end to end with the real local model and reports bad rows by line', async () => {
    const file = path.join(tmp, 'labelled.jsonl');
    const ids = writeJsonl(file, 6, 101, ['{"transactionId": broken', JSON.stringify({ transactionId: 'no-amount' })]);
    const config = loadConfig({
      ...process.env,
      REPLAY_DIR: path.join(tmp, 'store-a'),
      TASK_QUEUE_PREFIX: `test-replay-${randomUUID().slice(0, 8)}`,
      HOSTED_ESCALATION_ENABLED: 'false',
    });
    const report = await runReplayCommand(config, {
      source: file,
      chunkSize: 4,
      chunkParallelism: 2,
      rowParallelism: 2,
      workers: true,
      log: () => undefined,
    });

    expect(report.counts).toMatchObject({ scored: 6, invalid: 2, labelled: 6 });
    expect(report.invalidRows.map((r) => r.line)).toEqual([7, 8]);
    expect(report.invalidRows[1]?.error).toContain('amount');
    const rows = new ReplayStore(config.replayDir).readResults(report.replayId);
    expect(rows.map((r) => r.decision.transactionId).sort()).toEqual([...ids].sort());
    for (const r of rows) {
      const d = Decision.parse(r.decision);
      expect(d.source).toMatchObject({ kind: 'replay', replayId: report.replayId });
      expect(d.modelCalls[0]?.model ?? 'rules').toMatch(/smollm2|rules/);
    }
    expect(fs.readFileSync(path.join(config.replayDir, report.replayId, 'report.html'), 'utf8')).toContain('<svg');
  });

  it('survives a worker SIGKILL mid-replay and resumes with nothing missing, nothing duplicated, nothing rescored', async () => {
    const model = await startHostedTestServer();
    model.setBehaviour(() => ({ kind: 'answer', riskScore: 0.1, confidence: 0.9, latencyMs: 60 }));
    const file = path.join(tmp, 'crash.jsonl');
    const ids = writeJsonl(file, 240, 202);
    const env = {
      REPLAY_DIR: path.join(tmp, 'store-b'),
      TASK_QUEUE_PREFIX: `test-replay-${randomUUID().slice(0, 8)}`,
      HOSTED_ESCALATION_ENABLED: 'false',
      LOCAL_MODEL_BASE_URL: model.baseURL,
      SCORING_POLICY_FILE: scriptedPolicyFile,
      LOCAL_SCORING_CONCURRENCY: '8',
      METRICS_PORT: '0',
      SDK_METRICS_PORT: '0',
      // Activities the killed worker held are retried after this timeout.
      LOCAL_MODEL_TIMEOUT_MS: '3000',
    };
    const config = loadConfig({ ...process.env, ...env });
    const settings = { ...scoringSettingsFromConfig(config), localFirstPassAsLocalActivity: true };
    const client = await connectClient(config);
    const spawnWorker = (): ChildProcess =>
      spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', 'all'], {
        cwd: root,
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
    let worker = spawnWorker();
    const replayId = `crash-${randomUUID().slice(0, 8)}`;
    const start = (reuse?: WorkflowIdReusePolicy) =>
      client.workflow.start<typeof replayWorkflow>('replayWorkflow', {
        workflowId: replayWorkflowId(replayId),
        workflowIdReusePolicy: reuse,
        taskQueue: settings.taskQueues.orchestration,
        args: [
          {
            replayId,
            source: { kind: 'file', path: file, format: 'jsonl' },
            settings,
            options: { chunkSize: 20, chunkParallelism: 2, rowParallelism: 4 },
          },
        ],
      });
    try {
      const handle = await start();
      // Kill the only worker once some chunks are done and others are in flight.
      for (;;) {
        const p = await handle.query(replayProgressQuery).catch(() => undefined);
        if (p && p.chunksDone >= 3) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise<void>((r) => {
        worker.once('exit', () => r());
        worker.kill('SIGKILL');
      });
      const callsAtKill = model.callCount('/v1/chat/completions');
      worker = spawnWorker();
      const result = await handle.result();
      expect(result).toMatchObject({ done: true, rowsTotal: 240, chunksTotal: 12 });

      const rows = new ReplayStore(config.replayDir).readResults(replayId);
      const scored = rows.map((r) => r.decision.transactionId);
      expect(scored).toHaveLength(240);
      expect(new Set(scored).size).toBe(240);
      expect([...scored].sort()).toEqual([...ids].sort());
      // Only rows around the kill may have been asked twice. The first pass is a local activity, whose result is
      // recorded with its chunk's next workflow task: per chunk (2 running), up to 4 rows in flight and up to 4
      // finished but not yet recorded.
      const calls = model.callCount('/v1/chat/completions');
      expect(calls).toBeGreaterThanOrEqual(240);
      expect(calls).toBeLessThanOrEqual(240 + 2 * (4 + 4));
      expect(callsAtKill).toBeLessThan(240);

      // Re-running the same replay id rescores nothing, even when a new parent run is forced: every finished
      // chunk workflow refuses to run again.
      const rerun = await start(WorkflowIdReusePolicy.ALLOW_DUPLICATE);
      expect(await rerun.result()).toMatchObject({ done: true, rowsTotal: 240 });
      expect(model.callCount('/v1/chat/completions')).toBe(calls);
      expect(new ReplayStore(config.replayDir).readResults(replayId)).toHaveLength(240);
    } finally {
      worker.kill('SIGTERM');
      await client.connection.close();
      await model.close();
    }
  });
});
