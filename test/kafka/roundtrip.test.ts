import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/client';

describe('kafka', () => {
  it('delivers produced messages to a consumer group with keys, values and headers intact', async () => {
    const config = loadConfig();
    const kafka = createKafka(config, 'test-roundtrip');
    const topic = `test.roundtrip.${randomUUID().slice(0, 8)}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    const consumer = kafka.consumer({ groupId: `test-roundtrip-${randomUUID()}` });
    try {
      await producer.connect();
      const sent = Array.from({ length: 50 }, (_, i) => ({
        key: `k-${i}`,
        value: JSON.stringify({ i }),
        headers: { n: String(i) },
      }));
      await producer.send({ topic, acks: -1, messages: sent });

      const received: Array<{ key: string; value: string; n: string; partition: number }> = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message, partition }) => {
          received.push({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            n: message.headers?.n?.toString() ?? '',
            partition,
          });
          return Promise.resolve();
        },
      });
      const deadline = Date.now() + 30_000;
      while (received.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

      expect(received.map((r) => r.key).sort()).toEqual(sent.map((s) => s.key).sort());
      for (const r of received) expect(JSON.parse(r.value)).toEqual({ i: Number(r.n) });
      // Keyed messages spread over partitions, and one key always lands on one partition.
      expect(new Set(received.map((r) => r.partition)).size).toBeGreaterThan(1);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    }
  });
});
