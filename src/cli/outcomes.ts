/**
 * `fraudflow outcomes`: the outcomes process (decisions and labels joined in the outcome store, live-quality
 * metrics), until SIGINT or SIGTERM. `fraudflow quality`: the live-quality figures as a table.
 */
import type { Config } from '../config';
import { startMetricsServer } from '../observability/metrics';
import { startOutcomes } from '../outcomes/consumer';
import { qualityTable } from '../outcomes/quality-table';
import { driftReferencesFor, outcomeStoreFor, readLiveQuality } from '../outcomes/read-quality';

export async function serveOutcomes(config: Config): Promise<void> {
  const metricsServer = await startMetricsServer(config.env.METRICS_PORT, config.env.METRICS_HOST);
  const store = outcomeStoreFor(config);
  try {
    const outcomes = await startOutcomes({ config, store });
    const { decisions, labels } = config.kafka.topics;
    console.log(
      `fraudflow outcomes: ${decisions} + ${labels} → outcome store (group ${config.outcomes.groupId}); ` +
        `metrics ${metricsServer?.url ?? 'off'}`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    await outcomes.stop();
    console.log(`fraudflow outcomes: stopped ${JSON.stringify(outcomes.counters)}`);
  } finally {
    await store.close();
    await metricsServer?.close();
  }
}

export async function printLiveQuality(config: Config, opts: { json?: boolean }): Promise<void> {
  const store = outcomeStoreFor(config);
  try {
    const quality = await readLiveQuality(store, {
      references: driftReferencesFor(config),
      psiWarning: config.outcomes.psiWarning,
    });
    console.log(opts.json ? JSON.stringify(quality, null, 1) : qualityTable(quality, config.outcomes.psiWarning));
  } finally {
    await store.close();
  }
}
