import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { MissingTopicError } from '../../src/errors';
import { startIngest } from '../../src/kafka/ingest';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';

describe('ingest start-up', () => {
  it('names a missing topic, its variable and how to create it instead of failing inside kafkajs', async () => {
    const missing = `test.missing-${randomUUID().slice(0, 8)}`;
    const config = loadConfig({ ...process.env, TOPIC_TRANSACTIONS: missing, METRICS_PORT: '0' });
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const started = startIngest({
        config,
        client,
        settings: scoringSettingsFromConfig(config),
        log: () => undefined,
      });
      await expect(started).rejects.toThrow(MissingTopicError);
      await expect(started).rejects.toThrow(
        new RegExp(`'${missing}' \\(TOPIC_TRANSACTIONS\\) does not exist.*stack up`),
      );
    } finally {
      await connection.close();
    }
  }, 60_000);
});
