/**
 * Replay chunks stay under Temporal's payload limit: `--chunk-size` has a maximum, a chunk is also cut by the bytes
 * of its rows, and the largest allowed chunk is scored end to end (the instant hosted stand-in as local model).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runReplayCommand } from '../../src/cli/replay';
import { loadConfig } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { chunkBounds } from '../../src/replay/contracts';
import { ReplayStore } from '../../src/replay/store';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import { scriptedPolicyFile } from '../support/pipeline';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-chunks-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('replay chunk bounds', () => {
  it('scores the largest allowed chunk, cuts chunks of large events by bytes, and refuses a larger chunk size', async () => {
    const model = await startHostedTestServer();
    model.setBehaviour(() => ({ kind: 'answer', riskScore: 0.1, confidence: 0.9, latencyMs: 0 }));
    const config = loadConfig({
      ...process.env,
      REPLAY_DIR: path.join(tmp, 'store'),
      TASK_QUEUE_PREFIX: `test-chunks-${randomUUID().slice(0, 8)}`,
      HOSTED_ESCALATION_ENABLED: 'false',
      LOCAL_MODEL_BASE_URL: model.baseURL,
      SCORING_POLICY_FILE: scriptedPolicyFile,
      LOCAL_SCORING_CONCURRENCY: '16',
      METRICS_PORT: '0',
      SDK_METRICS_PORT: '0',
    });
    // 500 ordinary events (one chunk of the largest size), then 300 carrying 3 KB of attributes each (1.2 MB).
    const g = createTransactionGenerator({ seed: 7, fraudShare: 0.1, idPrefix: `cb${randomUUID().slice(0, 6)}` });
    const large = { attributes: { note: 'x'.repeat(3000) } };
    const events = Array.from({ length: 800 }, (_, i) => ({ ...g.next(), ...(i >= 500 ? large : {}) }));
    const file = path.join(tmp, 'rows.jsonl');
    fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const run = (chunkSize: number) =>
      runReplayCommand(config, {
        source: file,
        chunkSize,
        chunkParallelism: 2,
        rowParallelism: 16,
        workers: true,
        log: () => undefined,
      });

    await expect(run(chunkBounds.maxRows + 1)).rejects.toThrow(/chunk size 501 is outside 1–500 rows/);
    const report = await run(chunkBounds.maxRows);
    expect(report.counts).toMatchObject({ scored: 800, invalid: 0 });
    const store = new ReplayStore(config.replayDir);
    const manifest = store.readManifest(report.replayId)!;
    const chunks = Array.from({ length: manifest.chunksTotal }, (_, n) => store.readChunk(report.replayId, n));
    expect(chunks[0]!.rows).toHaveLength(chunkBounds.maxRows);
    // The large rows are cut by bytes: no chunk's rows pass the bound by more than one row.
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const chunk of chunks) {
      const bytes = Buffer.byteLength(JSON.stringify(chunk.rows));
      const largest = Math.max(...chunk.rows.map((r) => Buffer.byteLength(JSON.stringify(r))));
      expect(bytes).toBeLessThan(chunkBounds.maxRowBytes + largest + 16);
    }
    const results = store.readResults(report.replayId);
    expect(results).toHaveLength(800);
    // The largest chunk's decisions, as its store activity received them, are under Temporal's 2 MB limit.
    const firstChunkLines = new Set(chunks[0]!.rows.map((r) => r.line));
    const firstResults = results.filter((r) => firstChunkLines.has(r.line));
    expect(firstResults).toHaveLength(chunkBounds.maxRows);
    expect(Buffer.byteLength(JSON.stringify(firstResults))).toBeLessThan(2 * 1024 * 1024);
    await model.close();
  });
});
