import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { invalidEventSamples, produceTransactions } from '../../src/generator/produce';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { createKafka } from '../../src/kafka/client';
import { TransactionEvent } from '../../src/schemas/transaction-event';

describe('produceTransactions', () => {
  it('invalid samples cover unparseable JSON, schema violations and payloads over 64 KiB', () => {
    const samples = invalidEventSamples('invalid-check-1');
    const reasons = new Set(samples.map((s) => s.kind.split(':')[0]));
    expect([...reasons].sort()).toEqual(['invalid_json', 'oversized', 'schema_violation']);
    for (const sample of samples) {
      const reason = sample.kind.split(':')[0];
      const text = sample.value.toString('utf8');
      if (reason === 'invalid_json') {
        expect(() => JSON.parse(text) as unknown, sample.kind).toThrow();
        continue;
      }
      const parsed = TransactionEvent.safeParse(JSON.parse(text));
      if (reason === 'schema_violation') expect(parsed.success, sample.kind).toBe(false);
      if (reason === 'oversized') {
        expect(parsed.success).toBe(true);
        expect(sample.value.length).toBeGreaterThan(64 * 1024);
      }
    }
  });

  it(
    'every produced event arrives exactly once keyed by transactionId, alongside the invalid- messages',
    { timeout: 90_000 },
    async () => {
      const config = loadConfig();
      const kafka = createKafka(config, 'test-generator');
      const topic = `test.generator.${randomUUID().slice(0, 8)}`;
      const groupId = `test-generator-${randomUUID()}`;
      const seed = 4242;
      const startTime = new Date('2025-02-03T09:00:00Z');
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      const consumer = kafka.consumer({ groupId });
      try {
        const progress: number[] = [];
        const result = await produceTransactions(config, {
          rate: 0,
          count: 200,
          invalidShare: 0.05,
          seed,
          startTime,
          topic,
          onProgress: (sent) => progress.push(sent),
        });
        expect(result.sent).toBe(200);
        // 5% of 200, exactly: the count is chosen, not drawn.
        expect(result.invalid).toBe(10);
        expect(result.invalidKeys).toEqual(Array.from({ length: 10 }, (_, i) => `invalid-${seed}-${i + 1}`));
        expect(result.transactionIds).toHaveLength(190);
        expect(progress.at(-1)).toBe(200);

        const received: Array<{ key: string; value: Buffer; partition: number }> = [];
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: ({ message, partition }) => {
            received.push({ key: message.key?.toString() ?? '', value: message.value ?? Buffer.alloc(0), partition });
            return Promise.resolve();
          },
        });
        const deadline = Date.now() + 60_000;
        while (received.length < result.sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        // A little longer, so a duplicate would have time to show up.
        await new Promise((r) => setTimeout(r, 1_000));

        expect(received).toHaveLength(result.sent);
        const invalid = received.filter((m) => m.key.startsWith('invalid-'));
        expect(invalid.map((m) => m.key).sort()).toEqual([...result.invalidKeys].sort());

        // The same seed and start time regenerate exactly what was sent.
        const generator = createTransactionGenerator({ seed, startTime });
        const expected = new Map(
          result.transactionIds.map(() => {
            const event = generator.next();
            return [event.transactionId, event] as const;
          }),
        );
        expect([...expected.keys()]).toEqual(result.transactionIds);
        const valid = received.filter((m) => !m.key.startsWith('invalid-'));
        expect(valid.map((m) => m.key).sort()).toEqual([...result.transactionIds].sort());
        for (const message of valid) {
          const event = TransactionEvent.parse(JSON.parse(message.value.toString('utf8')));
          expect(event.transactionId).toBe(message.key);
          expect(event).toEqual(expected.get(message.key));
        }
        expect(new Set(received.map((m) => m.partition)).size).toBeGreaterThan(1);
      } finally {
        await consumer.disconnect();
        await admin.deleteTopics({ topics: [topic] });
        await admin.deleteGroups([groupId]).catch(() => undefined);
        await admin.disconnect();
      }
    },
  );

  it('paces to the requested rate and stops early when aborted', { timeout: 30_000 }, async () => {
    const config = loadConfig();
    const kafka = createKafka(config, 'test-generator');
    const topic = `test.generator.${randomUUID().slice(0, 8)}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    try {
      const paced = await produceTransactions(config, { rate: 40, count: 60, topic });
      expect(paced.sent).toBe(60);
      // 60 messages at 40/s take about 1.5 s, less the first token.
      expect(paced.seconds).toBeGreaterThan(1.2);
      expect(paced.seconds).toBeLessThan(5);

      const controller = new AbortController();
      const aborted = await produceTransactions(config, {
        rate: 20,
        count: 1_000,
        topic,
        signal: controller.signal,
        onProgress: (sent) => {
          if (sent >= 10) controller.abort();
        },
      });
      expect(aborted.sent).toBeGreaterThanOrEqual(10);
      expect(aborted.sent).toBeLessThan(20);
      expect(aborted.transactionIds).toHaveLength(aborted.sent);
    } finally {
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    }
  });
});
