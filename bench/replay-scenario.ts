/**
 * The replay benchmark scenario: `ctx.count` synthetic transactions written to a JSONL file and replayed through
 * the durable batch replay (same scoring code as streaming) with the instant stand-in model.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { createTransactionGenerator } from '../src/generator/synthetic';
import { runReplayCommand } from '../src/replay/run';
import type { ReplayScenarioContext, ReplayScenarioResult } from './scenarios/replay';

export async function runReplayScenario(ctx: ReplayScenarioContext): Promise<ReplayScenarioResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fraudflow-bench-replay-${ctx.id}-`));
  try {
    const file = path.join(dir, 'history.jsonl');
    const generator = createTransactionGenerator({ seed: 4242, fraudShare: 0.05, idPrefix: `bench${ctx.id}` });
    fs.writeFileSync(file, Array.from({ length: ctx.count }, () => JSON.stringify(generator.next())).join('\n') + '\n');
    const config = loadConfig({
      ...ctx.env,
      LOCAL_MODEL_BASE_URL: ctx.instantModelBaseURL,
      LOCAL_SCORING_CONCURRENCY: '200',
      HOSTED_ESCALATION_ENABLED: 'false',
      TASK_QUEUE_PREFIX: `bench-${ctx.id}`,
      REPLAY_DIR: path.join(dir, 'store'),
    });
    const report = await runReplayCommand(config, {
      source: file,
      replayId: `bench-${ctx.id}`,
      chunkSize: 200,
      chunkParallelism: 4,
      rowParallelism: 50,
      workers: true,
      log: ctx.log,
    });
    const seconds = (report.throughput.durationMs ?? 0) / 1000;
    return {
      decisions: report.counts.scored,
      seconds,
      note: `replay workflow start to close; chunk 200 × 4 chunks × 50 rows; first pass as local activities`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
