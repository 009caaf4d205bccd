/**
 * Batch replay throughput: N synthetic transactions (default 20,000) written to a JSONL file and replayed through
 * the durable batch replay (`fraudflow replay`: the same scoring code as streaming) with the instant stand-in
 * model, under its own task-queue prefix and replay store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { runReplayCommand } from '../../src/cli/replay';
import { shortId, startInstantModel, startResourceSampler } from '../harness';
import type { ScenarioResult } from '../report';

/** The replay's batch shape: rows per chunk, chunks at once, rows at once within a chunk (`fraudflow replay` flags). */
const shape = { chunkSize: 200, chunkParallelism: 4, rowParallelism: 50 } as const;

export async function runReplay(opts: {
  count: number;
  env: Record<string, string>;
  log: (line: string) => void;
}): Promise<ScenarioResult> {
  const id = `replay-${shortId()}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fraudflow-bench-${id}-`));
  const instant = await startInstantModel(0);
  try {
    const file = path.join(dir, 'history.jsonl');
    const generator = createTransactionGenerator({ seed: 4242, fraudShare: 0.05, idPrefix: `bench${id}` });
    fs.writeFileSync(
      file,
      Array.from({ length: opts.count }, () => JSON.stringify(generator.next())).join('\n') + '\n',
    );
    const config = loadConfig({
      ...process.env,
      HOSTED_ESCALATION_ENABLED: 'false',
      HOSTED_PROVIDERS: '[]',
      LOCAL_SCORING_CONCURRENCY: '200',
      ...opts.env,
      LOCAL_MODEL_BASE_URL: instant.server.baseURL,
      TASK_QUEUE_PREFIX: `bench-${id}`,
      REPLAY_DIR: path.join(dir, 'store'),
    });
    const sampler = startResourceSampler(config);
    const report = await runReplayCommand(config, {
      source: file,
      replayId: `bench-${id}`,
      ...shape,
      workers: true,
      log: opts.log,
    });
    const resources = sampler.stop();
    // Scoring alone (first to last decision): the command's wall time also holds the stack check and worker start.
    const seconds = (report.throughput.scoring.durationMs ?? 0) / 1000;
    const decisions = report.counts.scored;
    return {
      id: 'replay',
      description: `${opts.count} recorded transactions replayed in batch (fraudflow replay), instant model`,
      status: decisions >= opts.count ? 'measured' : 'incomplete',
      note:
        `first to last decision ${seconds.toFixed(1)}s (command wall time ${((report.throughput.durationMs ?? 0) / 1000).toFixed(1)}s); chunks of ${shape.chunkSize}, ` +
        `${shape.chunkParallelism} at once, ${shape.rowParallelism} rows at once; first pass as local activities`,
      expected: opts.count,
      completed: decisions,
      throughputPerSec: seconds > 0 ? Math.round((decisions / seconds) * 10) / 10 : undefined,
      resources,
    };
  } finally {
    await instant.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
