/**
 * The real local model (Ollama, escalation off): first N sequential first passes straight to Ollama through the
 * openai SDK (the embedding of the same text the pipeline sends, card history included), then transactions
 * through the streaming path, paced below what Ollama serves so that the pipeline's latency is service time plus
 * orchestration, not a queue.
 */
import OpenAI from 'openai';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { ReplayCardHistory } from '../../src/features/replay-history';
import { embedFirstPass, firstPassText } from '../../src/models/first-pass';
import { percentiles } from '../harness';
import type { ScenarioResult } from '../report';
import { runStreaming } from './streaming';

export interface RealModelOptions {
  /** Transactions through the pipeline. @default 100 */
  count: number;
  /** Sequential direct calls. @default 20 */
  directCalls: number;
  /** Pacing; @default 80% of the rate one sequential caller achieved against Ollama */
  rate?: number;
  env: Record<string, string>;
  /** Where the worker and ingest processes write their logs. */
  logDir: string;
  log: (line: string) => void;
}

/** Sequential first passes against the configured local model; one unmeasured call first loads the model. */
async function directCalls(config: Config, calls: number): Promise<number[]> {
  const openai = new OpenAI({
    baseURL: config.localModel.baseURL,
    apiKey: config.localModel.apiKey,
    maxRetries: 0,
    timeout: config.localModel.timeoutMs,
  });
  const generator = createTransactionGenerator({ seed: 20_251_124 });
  const history = new ReplayCardHistory();
  const call = async () => {
    const event = generator.next();
    const text = firstPassText(event, history.featuresFor(event));
    const started = performance.now();
    await embedFirstPass(openai, config.localModel.model, text);
    return performance.now() - started;
  };
  await call();
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) latencies.push(await call());
  return latencies;
}

export async function runRealModel(opts: RealModelOptions): Promise<ScenarioResult> {
  const config = loadConfig({ ...process.env, ...opts.env });
  opts.log(
    `  ${opts.directCalls} sequential direct calls to ${config.localModel.baseURL} (${config.localModel.model})`,
  );
  const direct = await directCalls(config, opts.directCalls);
  const mean = direct.reduce((a, b) => a + b, 0) / Math.max(1, direct.length);
  const rate = opts.rate ?? Math.round((0.8 * 1000 * 100) / mean) / 100;
  opts.log(`  direct mean ${Math.round(mean)}ms; streaming ${opts.count} transactions at ${rate}/s`);
  const { result } = await runStreaming({
    id: 'real-model',
    description: 'the real local model through the streaming path (escalation off), next to direct SDK calls',
    count: opts.count,
    rate,
    model: 'ollama',
    env: opts.env,
    logDir: opts.logDir,
    stallMs: 180_000,
    log: opts.log,
  });
  const p = percentiles(direct);
  return { ...result, directCallMs: p ? { ...p, count: direct.length, mean: Math.round(mean) } : undefined };
}
