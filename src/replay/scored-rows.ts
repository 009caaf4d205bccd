/** A replay's stored decisions joined with the events they were made on (by line), in chunk order. */
import type { ScoredRow } from './quality';
import type { ReplayStore } from './store';

export function readScoredRows(store: ReplayStore, replayId: string): ScoredRow[] {
  const manifest = store.readManifest(replayId);
  if (!manifest) throw new Error(`replay ${replayId} not found under ${store.root}: run fraudflow replay first`);
  const events = new Map<number, ScoredRow['event']>();
  for (let n = 0; n < manifest.chunksTotal; n++) {
    for (const row of store.readChunk(replayId, n).rows) events.set(row.line, row.event);
  }
  const results = store.readResults(replayId);
  if (results.length === 0) throw new Error(`replay ${replayId} has no stored decisions: it was prepared, not scored`);
  return results.map((r) => {
    const event = events.get(r.line);
    if (!event) throw new Error(`replay ${replayId}: decision for line ${r.line} has no prepared row`);
    return { ...r, event };
  });
}
