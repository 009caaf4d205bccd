import { randomUUID } from 'node:crypto';
import { connectClient } from '../../src/temporal/client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { MissingTopicError } from '../../src/errors';
import { startIngest } from '../../src/kafka/ingest';
import { scoringSettingsFromConfig } from '../../src/scoring/settings';

describe('ingest start-up', () => {
  it('names a missing topic, its variable and how to create it instead of failing inside kafkajs', async () => {
    const missing = `test.missing-${randomUUID().slice(0, 8)}`;
    const config = loadConfig({ ...process.env, TOPIC_TRANSACTIONS: missing, METRICS_PORT: '0' });
    const client = await connectClient(config);
    try {
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
      await client.connection.close();
    }
  }, 60_000);
});
