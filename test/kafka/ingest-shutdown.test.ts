/**
 * `fraudflow ingest` as an orchestrator stops it: SIGTERM, the in-flight starts drained, and the process gone at
 * once, not held open by a stop timeout it no longer needs (it lingered 30 s, so a deploy's grace period could end
 * in a SIGKILL).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

const repoRoot = path.resolve(__dirname, '..', '..');

describe('fraudflow ingest on SIGTERM', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startTestPipeline({ name: 'ingest-exit', env: { HOSTED_ESCALATION_ENABLED: 'false' } });
  });
  afterAll(async () => pipeline?.close());

  it('starts the workflows of what it read, then exits 0 within seconds', async () => {
    const child = spawn(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['src/cli/main.ts', 'ingest'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        TASK_QUEUE_PREFIX: pipeline.taskQueuePrefix,
        TOPIC_TRANSACTIONS: pipeline.topics.transactions,
        TOPIC_DECISIONS: pipeline.topics.decisions,
        TOPIC_DEAD_LETTER: pipeline.topics.deadLetter,
        INGEST_GROUP_ID: `${pipeline.taskQueuePrefix}-ingest`,
        METRICS_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const event = sampleTransaction();
      await pipeline.send([{ key: event.transactionId, value: event }]);
      const [decision] = await pipeline.waitForDecisions(1, 120_000);
      expect(decision?.transactionId, output).toBe(event.transactionId);

      const signalled = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      const tookMs = Date.now() - signalled;
      expect(code, output).toBe(0);
      expect(output).toMatch(/fraudflow ingest: stopped \{"received":1,"started":1/);
      // Draining and leaving the consumer group take a second or two here; the old stop held on for 30 s more.
      expect(tookMs, output).toBeLessThan(15_000);
    } finally {
      child.kill('SIGKILL');
    }
  }, 180_000);
});
