/** Replay activities: read the source once into chunks, hand a chunk to its workflow, store its decisions. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Kafka } from 'kafkajs';
import { z } from 'zod';
import type { PreparedReplay, ReplayChunk, ReplayResultRow, ReplaySource } from '../src/replay/contracts';
import { describeSource } from '../src/replay/contracts';
import { readKafkaRange } from '../src/replay/kafka-source';
import { readCsv, readJsonl } from '../src/replay/sources';
import type { ReplayRow } from '../src/replay/sources';
import type { ReplayStore } from '../src/replay/store';
import { TransactionEvent } from '../src/schemas/transaction-event';

async function* readSource(source: ReplaySource, kafka: Kafka): AsyncGenerator<ReplayRow> {
  if (source.kind === 'file') {
    if (source.format === 'jsonl') yield* readJsonl(source.path);
    else if (source.mapping) yield* readCsv(source.path, source.mapping);
    else throw ApplicationFailure.nonRetryable('a CSV replay needs a column mapping');
    return;
  }
  let line = 0;
  for await (const m of readKafkaRange(kafka, source)) {
    line++;
    const raw = m.value?.toString('utf8') ?? '';
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      yield {
        line,
        error: `partition ${m.partition} offset ${m.offset}: invalid JSON: ${(err as Error).message}`,
        raw,
      };
      continue;
    }
    const parsed = TransactionEvent.safeParse(json);
    yield parsed.success
      ? { line, event: parsed.data }
      : { line, error: `partition ${m.partition} offset ${m.offset}: ${z.prettifyError(parsed.error)}`, raw };
  }
}

export function createReplayActivities(deps: { store: ReplayStore; kafka: Kafka }) {
  const { store } = deps;

  /**
   * Reads the whole source once into chunk files. Idempotent: a finished preparation is reused, and a retried
   * one writes the same chunks again. Invalid rows are kept with their line and reason, never dropped.
   */
  const prepareReplay = async (req: {
    replayId: string;
    source: ReplaySource;
    chunkSize: number;
  }): Promise<PreparedReplay> => {
    const uri = describeSource(req.source);
    const existing = store.readManifest(req.replayId);
    if (existing?.source === uri) return existing;
    const invalid: Array<{ line: number; error: string }> = [];
    let rows: ReplayChunk['rows'] = [];
    let chunks = 0;
    let total = 0;
    for await (const row of readSource(req.source, deps.kafka)) {
      if ('error' in row) invalid.push({ line: row.line, error: row.error });
      else {
        rows.push({ line: row.line, event: row.event });
        total++;
      }
      if (rows.length >= req.chunkSize) {
        store.writeChunk(req.replayId, chunks++, { uri, rows });
        rows = [];
        Context.current().heartbeat(total);
      }
    }
    if (rows.length > 0) store.writeChunk(req.replayId, chunks++, { uri, rows });
    store.writeInvalid(req.replayId, invalid);
    const manifest = { source: uri, uri, rowsTotal: total, chunksTotal: chunks, invalidRows: invalid.length };
    store.writeManifest(req.replayId, manifest);
    return manifest;
  };

  const loadReplayChunk = (req: { replayId: string; chunk: number }): Promise<ReplayChunk> =>
    Promise.resolve(store.readChunk(req.replayId, req.chunk));

  const storeReplayResults = (req: { replayId: string; chunk: number; results: ReplayResultRow[] }): Promise<void> => {
    store.writeResults(req.replayId, req.chunk, req.results);
    return Promise.resolve();
  };

  return { prepareReplay, loadReplayChunk, storeReplayResults };
}
