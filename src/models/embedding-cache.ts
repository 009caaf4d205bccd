/**
 * The local model's embeddings of labelled rows, exactly as the first pass embeds them, for tuning and training.
 * Rows go to `/v1/embeddings` several to a request (`batchSize`) on several requests at once (`concurrency`, twice
 * the local model's slots); every embedding is appended to a cache file in `dir`, so a re-run (or a run killed half
 * way) embeds only what is missing.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { z } from 'zod';
import type { Config } from '../config';
import { stepProgress } from '../observability/step-progress';
import { jsonOrUndefined } from '../schemas/json';
import type { Embedder } from '../scoring/policy-fit';
import { embeddedText } from './first-pass';
import type { LabelledTransaction } from './training-set';

/** One line of the embedding cache: a row's id and the local model's embedding of it. */
const CachedEmbedding = z.object({ id: z.string(), e: z.array(z.number()) });

export interface EmbeddingThroughput {
  /** Texts per `/v1/embeddings` request. @default 16 */
  batchSize: number;
  /**
   * Requests in flight at once. Twice the local model's slots keeps its runner busy while answers travel back
   * (measured by bench:tune: 5.9 rows/s against 5.3 at as many requests as slots). @default 2 × its concurrency
   */
  concurrency: number;
}

export const defaultEmbeddingBatchSize = 16;

/** The file an embedder's embeddings are cached in, inside `dir` (a replay's folder, a training run's). */
function cacheFileFor(dir: string, embedder: Embedder): string {
  const cue = embedder.answerCue
    ? `-cue-${createHash('sha256').update(embedder.answerCue).digest('hex').slice(0, 8)}`
    : '';
  return path.join(dir, `embeddings-${embedder.model.replace(/[^A-Za-z0-9._-]/g, '_')}${cue}.jsonl`);
}

function readCache(file: string): Map<string, number[]> {
  const cached = new Map<string, number[]>();
  if (!fs.existsSync(file)) return cached;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    // A line cut short by a killed run is skipped: its row is embedded again.
    const entry = line ? CachedEmbedding.safeParse(jsonOrUndefined(line)) : undefined;
    if (entry?.success) cached.set(entry.data.id, entry.data.e);
  }
  return cached;
}

/** Embeddings of `texts`, in order, from one `/v1/embeddings` request. */
export async function embedBatch(client: OpenAI, model: string, texts: string[]): Promise<number[][]> {
  const response = await client.embeddings.create({ model, input: texts, encoding_format: 'float' });
  const byIndex = new Map(response.data.map((d) => [d.index, d.embedding]));
  return texts.map((_, i) => {
    const embedding = byIndex.get(i);
    if (!embedding?.length) throw new Error(`${model} returned no embedding for input ${i} of ${texts.length}`);
    return embedding;
  });
}

/** Embeddings of every row through the embedder, cached in `dir`; rows already cached cost nothing. */
export async function embedRows(
  config: Config,
  embedder: Embedder,
  dir: string,
  rows: readonly LabelledTransaction[],
  log: (line: string) => void,
  throughput: Partial<EmbeddingThroughput> = {},
): Promise<number[][]> {
  const cacheFile = cacheFileFor(dir, embedder);
  const cached = readCache(cacheFile);
  const missing = rows.filter((r) => !cached.has(r.event.transactionId));
  const what = embedder.answerCue ? `${embedder.model} (answer cue "${embedder.answerCue}")` : embedder.model;
  log(`embedding ${missing.length} of ${rows.length} rows with ${what} (${rows.length - missing.length} cached)`);
  const client = new OpenAI({
    baseURL: config.localModel.baseURL,
    apiKey: config.localModel.apiKey,
    maxRetries: 3,
    timeout: 120_000,
  });
  const batchSize = throughput.batchSize ?? defaultEmbeddingBatchSize;
  const batches = Array.from({ length: Math.ceil(missing.length / batchSize) }, (_, k) =>
    missing.slice(k * batchSize, (k + 1) * batchSize),
  );
  const progress = stepProgress('embedding', missing.length, { log });
  const out = fs.openSync(cacheFile, 'a');
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let batch = batches[next++]; batch; batch = batches[next++]) {
      const texts = batch.map((r) => embeddedText(r.event, r.features, embedder.answerCue));
      const embeddings = await embedBatch(client, embedder.model, texts);
      const lines = batch.map((r, i) => {
        cached.set(r.event.transactionId, embeddings[i]!);
        return JSON.stringify({ id: r.event.transactionId, e: embeddings[i] });
      });
      fs.writeSync(out, `${lines.join('\n')}\n`);
      progress.update((done += batch.length));
    }
  };
  try {
    const concurrency = throughput.concurrency ?? 2 * config.localModel.concurrency;
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    progress.finish();
    fs.closeSync(out);
  }
  return rows.map((r) => cached.get(r.event.transactionId)!);
}
