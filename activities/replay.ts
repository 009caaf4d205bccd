/** Replay activities: read the source once into chunks, hand a chunk to its workflow, store its decisions. */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Kafka } from 'kafkajs';
import type { PreparedReplay, ReplayChunk, ReplayResultRow, ReplaySource } from '../src/replay/contracts';
import { chunkBounds, describeSource, inScoringWindow } from '../src/replay/contracts';
import type { ScoringWindow } from '../src/replay/contracts';
import { readKafkaRange } from '../src/replay/kafka-source';
import { jsonReplayRow, readCsv, readJsonl } from '../src/replay/sources';
import type { ReplayRow } from '../src/replay/sources';
import type { ReplayStore } from '../src/replay/store';
import { ReplayCardHistory } from '../src/features/replay-history';

const describeWindow = (w?: ScoringWindow) =>
  w?.from || w?.until ? ` scoring [${w.from ?? '…'}, ${w.until ?? '…'})` : '';

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
    yield jsonReplayRow(line, m.value?.toString('utf8') ?? '', `partition ${m.partition} offset ${m.offset}`);
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
    window?: ScoringWindow;
  }): Promise<PreparedReplay> => {
    const uri = describeSource(req.source) + describeWindow(req.window);
    const existing = store.readManifest(req.replayId);
    if (existing?.source === uri) return existing;
    const invalid: Array<{ line: number; error: string }> = [];
    // Card history from the replayed rows themselves, in source order, with the streaming path's pure module.
    const history = new ReplayCardHistory();
    let rows: ReplayChunk['rows'] = [];
    let rowBytes = 0;
    let chunks = 0;
    let total = 0;
    for await (const row of readSource(req.source, deps.kafka)) {
      if ('error' in row) invalid.push({ line: row.line, error: row.error });
      else {
        // The label is kept beside the event, never in it: nothing on the scoring path can read it.
        const { label, ...event } = row.event;
        const features = history.featuresFor(event);
        if (inScoringWindow(event.occurredAt, req.window)) {
          const prepared = { line: row.line, event, features, label };
          rows.push(prepared);
          rowBytes += Buffer.byteLength(JSON.stringify(prepared));
          total++;
        }
      }
      if (rows.length >= Math.min(req.chunkSize, chunkBounds.maxRows) || rowBytes >= chunkBounds.maxRowBytes) {
        store.writeChunk(req.replayId, chunks++, { uri, rows });
        rows = [];
        rowBytes = 0;
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
