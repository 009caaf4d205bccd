/**
 * `npm run bench:hosted-budget`: the hosted-spend ledger at a bank's volume, a program that prints figures.
 *
 * Records N paid calls (default 1,000,000) in one simulated day through the ledger fraudflow's budget activities
 * use (src/models/hosted-spend-ledger.ts) on the stack's Redis: each call reserves its ceiling and settles at a
 * seeded cost, `--in-flight` at once, every 10th settlement repeated (as a retried activity would). It checks the
 * day's total against the exact sum of the costs and prints calls/s, Redis memory per call and this process's heap
 * at each tenth, which must stay flat.
 *
 *   npm run bench:hosted-budget -- [--calls 1000000] [--in-flight 256]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config';
import { mulberry32 } from '../src/generator/synthetic';
import { HostedSpendLedger } from '../src/models/hosted-spend-ledger';

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
/** Heap in use after a collection when node runs with --expose-gc (the npm script does), so growth shows. */
const liveHeap = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return mb(process.memoryUsage().heapUsed);
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { calls: { type: 'string', default: '1000000' }, 'in-flight': { type: 'string', default: '256' } },
  });
  const calls = Number(values.calls);
  const inFlight = Number(values['in-flight']);
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  // Auto-pipelining sends the scripts of calls in flight together: one round trip for many.
  const redis = new Redis(config.featureStore.url, { enableAutoPipelining: true });
  const keyPrefix = `bench-${randomUUID().slice(0, 8)}`;
  const ledger = new HostedSpendLedger({ redis, scope: 'bench', keyPrefix });
  const day = '2026-12-07';
  const random = mulberry32(20261207);
  // Costs in whole micro-USD (what the ledger counts in), so the exact total is known.
  const costs = Array.from({ length: calls }, () => (200 + Math.floor(random() * 4800)) / 1e6);
  const expectedMicros = costs.reduce((s, c) => s + Math.round(c * 1e6), 0);
  const memoryBefore = await usedMemory(redis);
  const started = performance.now();
  let next = 0;
  const heap: string[] = [];
  const worker = async () => {
    for (let i = next++; i < calls; i = next++) {
      const callId = `score-${i}:frontier`;
      const reservation = await ledger.reserve(day, callId, 0.01, 1e9);
      if (!reservation.granted) throw new Error(`call ${i} refused under an unbounded cap`);
      await ledger.settle(day, callId, costs[i]!);
      if (i % 10 === 0) await ledger.settle(day, callId, costs[i]!);
      if (i % (calls / 10) === 0) heap.push(liveHeap());
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  const spend = await ledger.spend(day);
  const memoryAfter = await usedMemory(redis);
  const exact = Math.round(spend.spentUsd * 1e6) === expectedMicros && spend.calls === calls && spend.reservedUsd === 0;
  console.log(`hosted-spend ledger: ${calls.toLocaleString('en-US')} paid calls in one day, ${inFlight} in flight`);
  console.log(
    `  ${seconds.toFixed(1)} s, ${Math.round(calls / seconds).toLocaleString('en-US')} calls/s (reserve + settle, 10% settled twice)`,
  );
  console.log(
    `  total ${spend.spentUsd.toFixed(6)} USD over ${spend.calls} calls; expected ${(expectedMicros / 1e6).toFixed(6)}: ${exact ? 'exact' : 'WRONG'}`,
  );
  console.log(
    `  Redis memory +${mb(memoryAfter - memoryBefore)} MiB, ${Math.round((memoryAfter - memoryBefore) / calls)} bytes per call, expiring two days after the day`,
  );
  console.log(`  this process's heap (MiB) at each tenth: ${heap.join(', ')}`);
  const keys = await redis.keys(`${keyPrefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  if (!exact) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
