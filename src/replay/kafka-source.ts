/**
 * Reads a range of a Kafka topic for replay: offsets or timestamps resolved per partition up front, so the
 * range is fixed even while producers keep writing.
 */
import type { Admin, Batch, Consumer, Kafka } from 'kafkajs';
import type { ReplaySource } from './contracts';

type KafkaSource = Extract<ReplaySource, { kind: 'kafka' }>;
type KafkaBound = KafkaSource['from'];
type TopicOffsets = Awaited<ReturnType<Admin['fetchTopicOffsets']>>;

interface ReplayedMessage {
  partition: number;
  offset: string;
  value: Buffer | null;
}

/** Per partition, the offsets to read: `start` inclusive, `end` exclusive. */
type PartitionRanges = Map<number, { start: bigint; end: bigint }>;

/** What the consumer's batches hand over to the generator that yields them. */
interface RangeRead {
  ranges: PartitionRanges;
  buffer: ReplayedMessage[];
  /** Partitions whose range end has not been read yet. */
  remaining: Set<number>;
  /** Wakes the generator when a batch arrives. */
  wake?: () => void;
}

// Buffered messages at which a batch waits for the generator to drain (bounded memory).
const MAX_BUFFERED = 5000;

export async function* readKafkaRange(
  kafka: Kafka,
  source: KafkaSource,
  /** Fail (to be retried) when no message arrives for this long while partitions are unfinished. @default 30000 */
  idleTimeoutMs = 30_000,
): AsyncGenerator<ReplayedMessage> {
  const ranges = await resolvePartitionRanges(kafka, source);
  yield* readPartitionRanges(kafka, source.topic, ranges, idleTimeoutMs);
}

async function resolvePartitionRanges(kafka: Kafka, source: KafkaSource): Promise<PartitionRanges> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const latest = await admin.fetchTopicOffsets(source.topic);
    const from = await resolveBound(admin, source.topic, latest, source.from, 'low');
    const to = await resolveBound(admin, source.topic, latest, source.to, 'high');
    return clampToPartitions(latest, from, to);
  } finally {
    await admin.disconnect();
  }
}

/** Each partition's offset for one end of the range; without a bound, the partition's low or high watermark. */
async function resolveBound(
  admin: Admin,
  topic: string,
  latest: TopicOffsets,
  bound: KafkaBound,
  fallback: 'low' | 'high',
): Promise<Map<number, bigint>> {
  const byPartition = new Map<number, bigint>();
  if (bound && 'time' in bound) {
    for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, Date.parse(bound.time))) {
      byPartition.set(p.partition, BigInt(p.offset));
    }
  }
  for (const p of latest) {
    if (bound && 'offset' in bound) byPartition.set(p.partition, BigInt(bound.offset));
    if (!byPartition.has(p.partition)) byPartition.set(p.partition, BigInt(fallback === 'low' ? p.low : p.high));
  }
  return byPartition;
}

/** Keeps each partition's range within what it holds, so a read never waits for offsets not yet written. */
function clampToPartitions(latest: TopicOffsets, from: Map<number, bigint>, to: Map<number, bigint>): PartitionRanges {
  return new Map(
    latest.map((p) => {
      const low = BigInt(p.low);
      const high = BigInt(p.high);
      const start = [from.get(p.partition) ?? low, low].reduce((a, b) => (a > b ? a : b));
      const end = [to.get(p.partition) ?? high, high].reduce((a, b) => (a < b ? a : b));
      return [p.partition, { start, end }];
    }),
  );
}

async function* readPartitionRanges(
  kafka: Kafka,
  topic: string,
  ranges: PartitionRanges,
  idleTimeoutMs: number,
): AsyncGenerator<ReplayedMessage> {
  const consumer = kafka.consumer({
    groupId: `fraudflow-replay-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  });
  const read: RangeRead = {
    ranges,
    buffer: [],
    remaining: new Set([...ranges].filter(([, r]) => r.start < r.end).map(([p]) => p)),
  };
  if (read.remaining.size === 0) return;
  await consumer.connect();
  try {
    await startConsumer(consumer, topic, read);
    yield* drainUntilRangeEnds(topic, read, idleTimeoutMs);
  } finally {
    // After a broker restart kafkajs can take minutes to leave a group; the read itself is over either way.
    await Promise.race([consumer.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  }
}

/** Runs the consumer into `read.buffer`, each partition sought to its range start. */
async function startConsumer(consumer: Consumer, topic: string, read: RangeRead): Promise<void> {
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatch: ({ batch }) => bufferBatch(read, batch) });
  for (const [partition, range] of read.ranges) {
    if (range.start < range.end) consumer.seek({ topic, partition, offset: range.start.toString() });
  }
}

/** Buffers the batch's messages inside the partition's range, and marks the partition done at its range end. */
async function bufferBatch(read: RangeRead, batch: Batch): Promise<void> {
  const range = read.ranges.get(batch.partition);
  if (!range) return;
  for (const m of batch.messages) {
    const offset = BigInt(m.offset);
    if (offset < range.start) continue;
    if (offset >= range.end) {
      read.remaining.delete(batch.partition);
      break;
    }
    read.buffer.push({ partition: batch.partition, offset: m.offset, value: m.value });
    if (offset === range.end - 1n) read.remaining.delete(batch.partition);
  }
  read.wake?.();
  // Let the reader drain before fetching more (bounded memory).
  while (read.buffer.length > MAX_BUFFERED) await new Promise((r) => setTimeout(r, 20));
}

/** Yields buffered messages until every partition has reached its range end and the buffer is empty. */
async function* drainUntilRangeEnds(
  topic: string,
  read: RangeRead,
  idleTimeoutMs: number,
): AsyncGenerator<ReplayedMessage> {
  let lastMessage = Date.now();
  while (read.remaining.size > 0 || read.buffer.length > 0) {
    const next = read.buffer.shift();
    if (next) {
      lastMessage = Date.now();
      yield next;
      continue;
    }
    if (Date.now() - lastMessage > idleTimeoutMs) {
      // A consumer can stall after a broker restart (assignment or seek lost); a fresh read recovers.
      throw new Error(`no message from ${topic} partitions ${[...read.remaining].join(', ')} for ${idleTimeoutMs}ms`);
    }
    await waitForBatch(read);
  }
}

/** Resolves when the next batch arrives, or after 200 ms at most so the idle timeout is checked. */
function waitForBatch(read: RangeRead): Promise<void> {
  return new Promise<void>((r) => {
    read.wake = r;
    setTimeout(r, 200);
  });
}
