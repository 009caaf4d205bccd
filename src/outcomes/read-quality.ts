/** Live quality read from the outcome store: the figures the metrics and `fraudflow quality` show. */
import type { Config } from '../config';
import type { ScoreDistribution } from '../scoring/score-distribution';
import { tuningDistributionOf } from '../scoring/score-distribution';
import { scoringSettingsFromConfig } from '../scoring/settings';
import type { WindowQuality } from './live-quality';
import { policyQuality } from './live-quality';
import type { OutcomeCounts, OutcomeStore } from './store';
import { OutcomeStore as RedisOutcomeStore } from './store';

export type DriftReferences = (policyHash: string) => ScoreDistribution | undefined;

/**
 * The tuning distribution of the configured policy, under the policy hash its decisions carry. Decisions of other
 * policy hashes (a promoted champion, an earlier configuration) get live quality but no score drift.
 */
export function driftReferencesFor(config: Config): DriftReferences {
  const policyHash = scoringSettingsFromConfig(config).policyHash;
  const reference = tuningDistributionOf(config.scoringPolicy.policy.provenance);
  return (hash) => (hash === policyHash ? reference : undefined);
}

/** The outcome store the configuration names: the feature store's Redis, with the outcomes retention. */
export function outcomeStoreFor(config: Config, keyPrefix?: string): OutcomeStore {
  return new RedisOutcomeStore({
    url: config.featureStore.url,
    retentionMs: config.outcomes.retentionMs,
    driftReference: driftReferencesFor(config),
    ...(keyPrefix ? { keyPrefix } : {}),
  });
}

export interface LiveQuality {
  /** Per policy hash and window, policies in their store order, windows shortest first. */
  windows: WindowQuality[];
  counts: OutcomeCounts;
  awaitingDecision: number;
  /** Policy hashes whose decisions are compared with a tuning distribution. */
  driftMeasured: string[];
}

export async function readLiveQuality(
  store: OutcomeStore,
  opts: { references: DriftReferences; psiWarning: number; nowMs?: number; minDriftSample?: number },
): Promise<LiveQuality> {
  const nowMs = opts.nowMs ?? Date.now();
  const [policies, counts, awaitingDecision] = await Promise.all([
    store.policyTallies(),
    store.counts(),
    store.awaitingDecision(),
  ]);
  const windows = policies.flatMap((p) =>
    policyQuality(p.policyHash, p.tallies, p.scoreBins, opts.references(p.policyHash), {
      nowMs,
      psiWarning: opts.psiWarning,
      ...(opts.minDriftSample !== undefined ? { minDriftSample: opts.minDriftSample } : {}),
    }),
  );
  const driftMeasured = policies.map((p) => p.policyHash).filter((h) => opts.references(h) !== undefined);
  return { windows, counts, awaitingDecision, driftMeasured };
}
