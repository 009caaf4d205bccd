/**
 * A replay's labelled rows, as tuning and training read them: each prepared row's event, its point-in-time card
 * features and its label, oldest first. Rows without a label are not history a policy can learn from.
 */
import { occurredAtMs } from '../features/card-history';
import type { LabelledTransaction } from '../models/training-set';
import type { ReplayChunk } from './contracts';
import type { ReplayStore } from './store';

/** The fewest frauds and legitimate rows a replay must have before a policy is fitted on it. */
export const minTuningRows = { frauds: 10, legit: 100 } as const;

export function readLabelledTransactions(store: ReplayStore, replayId: string): LabelledTransaction[] {
  const manifest = store.readManifest(replayId);
  if (!manifest) throw new Error(`replay ${replayId} not found under ${store.root}: run fraudflow replay first`);
  const rows: LabelledTransaction[] = [];
  for (let n = 0; n < manifest.chunksTotal; n++) {
    const chunk: ReplayChunk = store.readChunk(replayId, n);
    for (const row of chunk.rows) {
      if (!row.label) continue;
      rows.push({
        event: row.event,
        features: row.features,
        isFraud: row.label.isFraud,
        at: occurredAtMs(row.event.occurredAt),
      });
    }
  }
  rows.sort((a, b) => a.at - b.at);
  const frauds = rows.filter((r) => r.isFraud).length;
  if (frauds < minTuningRows.frauds || rows.length - frauds < minTuningRows.legit) {
    throw new Error(
      `replay ${replayId} has ${frauds} labelled frauds and ${rows.length - frauds} legitimate rows; tuning needs ≥ ${minTuningRows.frauds} and ≥ ${minTuningRows.legit}`,
    );
  }
  return rows;
}
