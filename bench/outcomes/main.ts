/**
 * `npm run bench:outcomes`: what the outcome store costs on the stack's Redis. Writes N decisions and a label for
 * each (under a key prefix of its own, deleted afterwards) and prints the bytes a joined record takes (Redis
 * MEMORY USAGE, sampled) and the decisions and labels recorded per second by one store (one connection, one
 * optimistic transaction per message, as the outcomes consumer does).
 *
 *   npm run bench:outcomes -- [--count 5000]
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config';
import { OutcomeStore } from '../../src/outcomes/store';

const countArg = process.argv.indexOf('--count');
const count = countArg > 0 ? Number(process.argv[countArg + 1]) : 5000;

async function main(): Promise<void> {
  const config = loadConfig();
  const prefix = `bench-outcomes-${randomUUID().slice(0, 8)}`;
  const store = new OutcomeStore({ url: config.featureStore.url, keyPrefix: prefix });
  const redis = new Redis(config.featureStore.url);
  const decidedAt = new Date(Date.now() - 3600_000).toISOString();
  const id = (i: number) => `txn-${prefix}-${i}`;
  try {
    let started = Date.now();
    for (let i = 0; i < count; i++) {
      await store.recordDecision({
        transactionId: id(i),
        policyHash: 'ebcda45aa69a7aab',
        promptVersion: 'fraud-analyst-v3',
        models: ['fraudflow-smollm2:135m-q4_1@sha256:5ee49d4f8cc3'],
        policyDecision: i % 20 === 0 ? 'review' : 'approve',
        finalDecision: 'approve',
        riskScore: (i % 100) / 1000,
        firstPassProbability: (i % 100) / 1000,
        path: 'local',
        costUsd: 0,
        decidedAt,
      });
    }
    const decisionsPerSecond = count / ((Date.now() - started) / 1000);
    started = Date.now();
    for (let i = 0; i < count; i++) {
      await store.recordLabel({
        schemaVersion: 1,
        transactionId: id(i),
        outcome: i % 30 === 0 ? 'fraud' : 'legitimate',
        source: 'chargeback',
        reportedAt: new Date().toISOString(),
        reasonCode: '10.4',
      });
    }
    const labelsPerSecond = count / ((Date.now() - started) / 1000);
    const samples = await Promise.all(
      Array.from({ length: 50 }, (_, k) => redis.memory('USAGE', store.recordKey(id(Math.floor((k * count) / 50))))),
    );
    const bytes = samples.reduce((s: number, b) => s + Number(b ?? 0), 0) / samples.length;
    console.log(`outcome store on ${config.featureStore.url}: ${count} decisions, then a label for each`);
    console.log(`bytes per joined record (MEMORY USAGE, mean of 50)  ${bytes.toFixed(0)}`);
    console.log(`decisions recorded per second (one store)          ${decisionsPerSecond.toFixed(0)}`);
    console.log(`labels recorded per second (one store)             ${labelsPerSecond.toFixed(0)}`);
  } finally {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
