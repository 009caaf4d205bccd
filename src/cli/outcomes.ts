/**
 * `fraudflow outcomes`: the outcomes process (decisions and labels joined in the outcome store, live-quality
 * metrics), until SIGINT or SIGTERM. `fraudflow quality`: the live-quality figures as a table. `fraudflow label`:
 * one label, by hand.
 */
import { z } from 'zod';
import type { Config } from '../config';
import { createKafka } from '../kafka/client';
import { startMetricsServer } from '../observability/metrics';
import { startOutcomes } from '../outcomes/consumer';
import { qualityTable } from '../outcomes/quality-table';
import { driftReferencesFor, outcomeStoreFor, readLiveQuality } from '../outcomes/read-quality';
import { Label } from '../schemas/label';

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

export interface LabelCommandOptions {
  transactionId: string;
  outcome: string;
  /** @default 'analyst' */
  source?: string;
  /** @default now */
  reportedAt?: string;
  reasonCode?: string;
  reportedBy?: string;
}

/**
 * `fraudflow label <transactionId> fraud|legitimate`: publishes one Label to the labels topic, checked against the
 * contract first (a chargeback file or a customer report entered by hand; feeds publish their own).
 */
export async function publishLabel(config: Config, opts: LabelCommandOptions): Promise<Label> {
  const parsed = Label.safeParse({
    schemaVersion: 1,
    transactionId: opts.transactionId,
    outcome: opts.outcome,
    source: opts.source ?? 'analyst',
    reportedAt: opts.reportedAt ?? new Date().toISOString(),
    ...(opts.reasonCode ? { reasonCode: opts.reasonCode } : {}),
    ...(opts.reportedBy ? { reportedBy: opts.reportedBy } : {}),
  });
  if (!parsed.success) throw new Error(`not a valid label:\n${z.prettifyError(parsed.error)}`);
  const producer = createKafka(config, 'label').producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: config.kafka.topics.labels,
      acks: -1,
      messages: [{ key: parsed.data.transactionId, value: JSON.stringify(parsed.data) }],
    });
  } finally {
    await producer.disconnect();
  }
  return parsed.data;
}
