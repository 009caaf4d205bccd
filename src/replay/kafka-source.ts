/**
 * Reads a range of a Kafka topic for replay: offsets or timestamps resolved per partition up front, so the
 * range is fixed even while producers keep writing.
 */
import type { Kafka } from 'kafkajs';
import type { ReplaySource } from './contracts';

type KafkaSource = Extract<ReplaySource, { kind: 'kafka' }>;

export async function* readKafkaRange(
  kafka: Kafka,
  source: KafkaSource,
  /** Fail (to be retried) when no message arrives for this long while partitions are unfinished. @default 30000 */
  idleTimeoutMs = 30_000,
): AsyncGenerator<{ partition: number; offset: string; value: Buffer | null }> {
  const admin = kafka.admin();
  await admin.connect();
  let ranges: Map<number, { start: bigint; end: bigint }>;
  try {
    const latest = await admin.fetchTopicOffsets(source.topic);
    const resolve = async (bound: KafkaSource['from'], fallback: 'low' | 'high') => {
      const byPartition = new Map<number, bigint>();
      if (bound && 'time' in bound) {
        for (const p of await admin.fetchTopicOffsetsByTimestamp(source.topic, Date.parse(bound.time))) {
          byPartition.set(p.partition, BigInt(p.offset));
        }
      }
      for (const p of latest) {
        if (bound && 'offset' in bound) byPartition.set(p.partition, BigInt(bound.offset));
        if (!byPartition.has(p.partition)) byPartition.set(p.partition, BigInt(fallback === 'low' ? p.low : p.high));
      }
      return byPartition;
    };
    const from = await resolve(source.from, 'low');
    const to = await resolve(source.to, 'high');
    ranges = new Map(
      latest.map((p) => {
        const low = BigInt(p.low);
        const high = BigInt(p.high);
        const start = [from.get(p.partition) ?? low, low].reduce((a, b) => (a > b ? a : b));
        const end = [to.get(p.partition) ?? high, high].reduce((a, b) => (a < b ? a : b));
        return [p.partition, { start, end }];
      }),
    );
  } finally {
    await admin.disconnect();
  }

  const consumer = kafka.consumer({
    groupId: `fraudflow-replay-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  });
  const buffer: Array<{ partition: number; offset: string; value: Buffer | null }> = [];
  const remaining = new Set([...ranges].filter(([, r]) => r.start < r.end).map(([p]) => p));
  let failure: unknown;
  let wake: (() => void) | undefined;
  if (remaining.size === 0) return;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: source.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = ranges.get(batch.partition);
        if (!range) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < range.start) continue;
          if (offset >= range.end) {
            remaining.delete(batch.partition);
            break;
          }
          buffer.push({ partition: batch.partition, offset: m.offset, value: m.value });
          if (offset === range.end - 1n) remaining.delete(batch.partition);
        }
        wake?.();
        // Let the reader drain before fetching more (bounded memory).
        while (buffer.length > 5000) await new Promise((r) => setTimeout(r, 20));
      },
    });
    for (const [partition, range] of ranges) {
      if (range.start < range.end) consumer.seek({ topic: source.topic, partition, offset: range.start.toString() });
    }
    let lastMessage = Date.now();
    while (remaining.size > 0 || buffer.length > 0) {
      if (failure) throw failure instanceof Error ? failure : new Error('kafka replay reader failed');
      const next = buffer.shift();
      if (next) {
        lastMessage = Date.now();
        yield next;
        continue;
      }
      if (Date.now() - lastMessage > idleTimeoutMs) {
        // A consumer can stall after a broker restart (assignment or seek lost); a fresh read recovers.
        throw new Error(
          `no message from ${source.topic} partitions ${[...remaining].join(', ')} for ${idleTimeoutMs}ms`,
        );
      }
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    // After a broker restart kafkajs can take minutes to leave a group; the read itself is over either way.
    await Promise.race([consumer.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  }
}
