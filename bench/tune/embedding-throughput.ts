/**
 * Embedding throughput of the local model through `/v1/embeddings`: the same rows embedded one text per request
 * (how tune embedded before) and several per request, at the local model's concurrency and at one; and how far a
 * batched embedding lies from the single one, since the first pass embeds one text at a time in production.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config';
import { embedRows } from '../../src/models/embedding-cache';
import { readLabelledTransactions } from '../../src/replay/labelled-rows';
import type { ReplayStore } from '../../src/replay/store';

export interface EmbeddingThroughputResult {
  rows: number;
  variants: Array<{ batchSize: number; concurrency: number; seconds: number; rowsPerSecond: number }>;
  /** Largest element-wise difference and smallest cosine between a batched embedding and the single one. */
  maxAbsDifference: number;
  minCosine: number;
}

const cosine = (a: number[], b: number[]) => {
  let [ab, aa, bb] = [0, 0, 0];
  a.forEach((v, i) => ((ab += v * b[i]!), (aa += v * v), (bb += b[i]! * b[i]!)));
  return ab / Math.sqrt(aa * bb);
};

export async function measureEmbeddingThroughput(
  config: Config,
  store: ReplayStore,
  replayId: string,
  opts: { rows: number; dir: string },
): Promise<EmbeddingThroughputResult> {
  const rows = readLabelledTransactions(store, replayId).slice(0, opts.rows);
  const slots = config.localModel.concurrency;
  const variants = [
    { batchSize: 1, concurrency: slots },
    { batchSize: 8, concurrency: slots },
    { batchSize: 16, concurrency: slots },
    { batchSize: 32, concurrency: slots },
    { batchSize: 16, concurrency: 1 },
    { batchSize: 16, concurrency: slots * 2 },
  ];
  const results: EmbeddingThroughputResult['variants'] = [];
  const embeddings: number[][][] = [];
  const embedder = { model: config.localModel.model };
  // One warm-up request, so the first variant does not pay for loading the model.
  await embedRows(config, embedder, fresh(path.join(opts.dir, 'warm-up')), rows.slice(0, 2), () => undefined);
  for (const v of variants) {
    const dir = fresh(path.join(opts.dir, `b${v.batchSize}-c${v.concurrency}`));
    const started = performance.now();
    embeddings.push(await embedRows(config, embedder, dir, rows, () => undefined, v));
    const seconds = (performance.now() - started) / 1000;
    results.push({ ...v, seconds: round(seconds), rowsPerSecond: round(rows.length / seconds) });
    console.log(
      `[embedding] ${v.batchSize} per request, ${v.concurrency} at once: ${round(rows.length / seconds)} rows/s`,
    );
  }
  const single = embeddings[0]!;
  let maxAbsDifference = 0;
  let minCosine = 1;
  for (const batched of embeddings.slice(1))
    batched.forEach((e, i) => {
      e.forEach((v, j) => (maxAbsDifference = Math.max(maxAbsDifference, Math.abs(v - single[i]![j]!))));
      minCosine = Math.min(minCosine, cosine(e, single[i]!));
    });
  return {
    rows: rows.length,
    variants: results,
    maxAbsDifference: round(maxAbsDifference, 6),
    minCosine: round(minCosine, 6),
  };
}

function fresh(dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
