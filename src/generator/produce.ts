/**
 * Writes synthetic transactions to the transactions topic at a steady rate: demo traffic, load tests, and (with
 * `invalidCount` or `invalidShare`) an exact number of deliberately bad messages that must end up on the dead-letter
 * topic, evenly spaced through the run.
 */
import { randomInt } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import type { Message, Producer } from 'kafkajs';
import type { Config } from '../config';
import { createKafka } from '../kafka/client';
import type { TransactionEvent } from '../schemas/transaction-event';
import { createTransactionGenerator } from './synthetic';
import type { TransactionGenerator } from './synthetic/stream';

export interface ProduceTransactionsOptions {
  /** Messages per second; 0 sends as fast as the broker acknowledges. */
  rate: number;
  /** Messages to send, the invalid ones included. */
  count: number;
  /** Share of valid events that belong to a fraud pattern. @default 0.05 */
  fraudShare?: number;
  /**
   * Generator seed. Fresh ids matter: scoring is idempotent per transactionId, so replaying a seed re-sends events
   * fraudflow has already decided.
   * @default a random 32-bit seed
   */
  seed?: number;
  /** occurredAt of the first event; simulated time then advances at the generator's own pace. @default now */
  startTime?: Date;
  /** @default config.kafka.topics.transactions */
  topic?: string;
  /**
   * Share of the `count` messages that are deliberately invalid (keys start `invalid-`), between 0 and 1. It is
   * rounded to an exact count, `Math.round(count * invalidShare)`, placed as `invalidCount` places its messages, so
   * a run never has more or fewer by chance. Give this or `invalidCount`, not both.
   * @default 0
   */
  invalidShare?: number;
  /**
   * How many of the `count` messages are deliberately invalid, exactly. They are spread evenly: one in the middle of
   * each of `invalidCount` equal stretches of the run (see `invalidPlaces`).
   * @default 0
   */
  invalidCount?: number;
  /** Called with every valid event as it is generated, label included (the main job scores quality with it). */
  onEvent?: (event: TransactionEvent) => void;
  /** Called after every acknowledged batch with the running total of messages sent. */
  onProgress?: (sent: number) => void;
  /** Stops at the next batch boundary; the promise then resolves with what was sent so far. */
  signal?: AbortSignal;
}

export interface ProduceTransactionsResult {
  /** Messages acknowledged by the broker, invalid ones included. */
  sent: number;
  /** How many of those were deliberately invalid. */
  invalid: number;
  /** Keys of the invalid messages acknowledged, in send order. */
  invalidKeys: string[];
  /** transactionIds of the valid events, in send order. */
  transactionIds: string[];
  /** Wall-clock seconds from the first send to the last acknowledgement. */
  seconds: number;
}

/** Upper bound on messages per produce request, to keep requests well under the broker's size limits. */
const MAX_BATCH = 500;
/** The token bucket holds at most this much time's worth of sends, so a stall is not followed by a flood. */
const BUCKET_SECONDS = 0.5;
/** Padding that takes the oversized sample past the ingest's default 64 KiB limit. */
const OVERSIZED_PADDING = 70 * 1024;

let baseEventCache: TransactionEvent | undefined;
function baseEvent(): TransactionEvent {
  baseEventCache ??= createTransactionGenerator({ seed: 7, fraudShare: 0 }).next();
  return baseEventCache;
}

/**
 * One sample of every kind of bad message fraudflow must dead-letter. `kind` starts with the dead-letter reason
 * it should produce (`invalid_json`, `schema_violation`, `oversized`), then a colon and the detail.
 * JSON samples that carry a transactionId use the one given, so a dead letter can be traced to its message key.
 */
export function invalidEventSamples(transactionId = 'invalid-sample'): Array<{ kind: string; value: Buffer }> {
  const event = { ...baseEvent(), transactionId };
  const json = JSON.stringify(event);
  const withChanges = (changes: Record<string, unknown>): Buffer =>
    Buffer.from(JSON.stringify({ ...event, ...changes }));
  const { cardToken: _dropped, ...withoutCardToken } = event;
  return [
    { kind: 'invalid_json:truncated', value: Buffer.from(json.slice(0, Math.floor(json.length / 2))) },
    { kind: 'invalid_json:plain_text', value: Buffer.from(`txn ${transactionId} amount=12.50 USD status=ok`) },
    { kind: 'invalid_json:binary', value: Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x80, 0x22, 0xc3, 0x28, 0x0a]) },
    { kind: 'schema_violation:not_an_object', value: Buffer.from(JSON.stringify([transactionId, 1250, 'USD'])) },
    { kind: 'schema_violation:negative_amount', value: withChanges({ amount: { minor: -1250, currency: 'USD' } }) },
    {
      kind: 'schema_violation:fractional_minor_units',
      value: withChanges({ amount: { minor: 12.5, currency: 'USD' } }),
    },
    { kind: 'schema_violation:unknown_currency', value: withChanges({ amount: { minor: 1250, currency: 'XYZ' } }) },
    { kind: 'schema_violation:missing_card_token', value: Buffer.from(JSON.stringify(withoutCardToken)) },
    {
      kind: 'oversized',
      value: withChanges({ attributes: { ...event.attributes, note: 'x'.repeat(OVERSIZED_PADDING) } }),
    },
  ];
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Produces `count` messages (synthetic events, plus an exact number of invalid ones if asked) keyed by
 * transactionId, paced to `rate` with a token bucket and batched per request. The producer is idempotent and waits
 * for all in-sync replicas.
 */
export async function produceTransactions(
  config: Config,
  opts: ProduceTransactionsOptions,
): Promise<ProduceTransactionsResult> {
  const { rate, count, signal } = opts;
  checkRate(rate);
  const seed = opts.seed ?? randomInt(0, 2 ** 32);
  const topic = opts.topic ?? config.kafka.topics.transactions;
  const messages = draftMessages({ ...opts, seed });
  const result: ProduceTransactionsResult = { sent: 0, invalid: 0, invalidKeys: [], transactionIds: [], seconds: 0 };
  if (count === 0 || signal?.aborted) return result;

  const producer = createIdempotentProducer(config);
  await producer.connect();
  const started = performance.now();
  try {
    await sendPacedBatches(producer, topic, { opts, messages }, createTokenBucket(rate, started), result);
  } finally {
    result.seconds = Math.round(performance.now() - started) / 1000;
    await producer.disconnect();
  }
  return result;
}

function checkRate(rate: number): void {
  if (!(Number.isFinite(rate) && rate >= 0)) throw new RangeError(`rate must be >= 0 events/s, got ${rate}`);
}

/** The exact number of invalid messages a run of `count` carries: `invalidCount`, or `invalidShare` rounded. */
function resolveInvalidCount(plan: MessagePlan): number {
  const { count, invalidShare, invalidCount } = plan;
  if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`count must be a whole number >= 0, got ${count}`);
  if (invalidShare !== undefined && invalidCount !== undefined) {
    throw new RangeError('give invalidShare or invalidCount, not both');
  }
  if (invalidCount !== undefined) {
    if (!(Number.isInteger(invalidCount) && invalidCount >= 0 && invalidCount <= count)) {
      throw new RangeError(`invalidCount must be a whole number within [0, count=${count}], got ${invalidCount}`);
    }
    return invalidCount;
  }
  const share = invalidShare ?? 0;
  if (!(share >= 0 && share <= 1)) throw new RangeError(`invalidShare must be within [0, 1], got ${share}`);
  return Math.round(count * share);
}

/**
 * Where the invalid messages of a run go, as 0-based places in send order: the middle of each of `invalidCount`
 * equal stretches of `count` messages. Even spacing keeps them apart and the places chosen, never drawn; integer
 * arithmetic keeps them exact. Places are distinct and increasing because stretches are at least one message long.
 */
export function invalidPlaces(count: number, invalidCount: number): number[] {
  return Array.from({ length: invalidCount }, (_, i) => invalidPlace(i, count, invalidCount));
}

function invalidPlace(index: number, count: number, invalidCount: number): number {
  return Math.floor(((2 * index + 1) * count) / (2 * invalidCount));
}

function createIdempotentProducer(config: Config): Producer {
  return createKafka(config, 'generator').producer({
    // The broker drops a retried batch it already wrote, so a retry never duplicates an event.
    idempotent: true,
    // kafkajs only keeps per-partition order through retries with a single request in flight.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** What decides a run's messages, apart from pacing and the topic. */
export type MessagePlan = Pick<
  ProduceTransactionsOptions,
  'count' | 'fraudShare' | 'startTime' | 'invalidShare' | 'invalidCount'
> & { seed: number };

/** One message of a run: a valid event (with its label), or a deliberately invalid message (no event). */
export interface DraftedMessage {
  key: string;
  value: string | Buffer;
  event?: TransactionEvent;
}

/**
 * A run's `count` messages in send order, without a broker: the seeded event stream, with the exact number of
 * invalid messages at `invalidPlaces`. Valid events are the generator's own sequence whatever the invalid count, so
 * `createTransactionGenerator({ seed, startTime })` regenerates them. Throws a RangeError for a bad plan at once.
 */
export function draftMessages(plan: MessagePlan): Iterator<DraftedMessage, undefined> {
  const invalidCount = resolveInvalidCount(plan);
  const events = createTransactionGenerator({
    seed: plan.seed,
    startTime: plan.startTime ?? new Date(),
    ...(plan.fraudShare !== undefined ? { fraudShare: plan.fraudShare } : {}),
  });
  return draftInOrder(plan, events, invalidCount);
}

function* draftInOrder(
  plan: MessagePlan,
  events: TransactionGenerator,
  invalidCount: number,
): Generator<DraftedMessage, undefined> {
  let invalid = 0;
  for (let place = 0; place < plan.count; place++) {
    if (invalid < invalidCount && place === invalidPlace(invalid, plan.count, invalidCount)) {
      yield invalidMessage(plan.seed, invalid++);
      continue;
    }
    const event = events.next();
    yield { key: event.transactionId, value: JSON.stringify(event), event };
  }
}

/** A run's messages still to send, and the options that asked for them. */
interface MessageSource {
  opts: ProduceTransactionsOptions;
  messages: Iterator<DraftedMessage, undefined>;
}

/** Paces sends to `rate` messages per second; at rate 0 it holds Infinity tokens and never waits. */
interface TokenBucket {
  rate: number;
  capacity: number;
  tokens: number;
  refilledAt: number;
}

function createTokenBucket(rate: number, now: number): TokenBucket {
  return {
    rate,
    capacity: rate > 0 ? Math.min(MAX_BATCH, Math.max(1, rate * BUCKET_SECONDS)) : Infinity,
    tokens: rate > 0 ? 1 : Infinity,
    refilledAt: now,
  };
}

/** Adds the tokens earned since the last refill; returns the milliseconds to wait when not one token is there. */
function refillTokens(bucket: TokenBucket): number | undefined {
  if (!(bucket.rate > 0)) return undefined;
  const now = performance.now();
  bucket.tokens = Math.min(bucket.capacity, bucket.tokens + ((now - bucket.refilledAt) / 1000) * bucket.rate);
  bucket.refilledAt = now;
  return bucket.tokens < 1 ? ((1 - bucket.tokens) / bucket.rate) * 1000 : undefined;
}

/** Sends batches as the bucket allows until `count` are acknowledged or the signal aborts, counting into `result`. */
async function sendPacedBatches(
  producer: Producer,
  topic: string,
  source: MessageSource,
  bucket: TokenBucket,
  result: ProduceTransactionsResult,
): Promise<void> {
  const { count, signal } = source.opts;
  while (result.sent < count && !signal?.aborted) {
    const wait = refillTokens(bucket);
    if (wait !== undefined) {
      await sleep(wait, signal);
      continue;
    }
    const size = Math.min(MAX_BATCH, count - result.sent, Math.floor(bucket.tokens));
    bucket.tokens -= size;
    const batch = draftBatch(source, size);
    await producer.send({ topic, acks: -1, messages: batch.messages });
    // Invalid messages count once their batch is acknowledged.
    result.sent += size;
    result.invalid += batch.invalidKeys.length;
    result.invalidKeys.push(...batch.invalidKeys);
    result.transactionIds.push(...batch.transactionIds);
    source.opts.onProgress?.(result.sent);
  }
}

interface Batch {
  messages: Message[];
  /** transactionIds of the valid events in the batch. */
  transactionIds: string[];
  invalidKeys: string[];
}

/** The next `size` messages of the run. */
function draftBatch(source: MessageSource, size: number): Batch {
  const batch: Batch = { messages: [], transactionIds: [], invalidKeys: [] };
  for (let i = 0; i < size; i++) {
    const next = source.messages.next();
    if (next.done) break;
    const { key, value, event } = next.value;
    batch.messages.push({ key, value });
    if (!event) {
      batch.invalidKeys.push(key);
      continue;
    }
    source.opts.onEvent?.(event);
    batch.transactionIds.push(key);
  }
  return batch;
}

/**
 * A run's `index`th invalid message (from 0). Kinds in rotation with the dead-letter reasons taking turns, so that
 * the first three already cover every reason and nine cover every kind.
 */
function invalidMessage(seed: number, index: number): DraftedMessage {
  const key = `invalid-${seed}-${index + 1}`;
  const samples = reasonsInTurn(invalidEventSamples(key));
  const sample = samples[index % samples.length];
  return { key, value: sample?.value ?? Buffer.alloc(0) };
}

/** The samples reordered so that their reasons take turns: each reason's first sample, then each one's second, ... */
function reasonsInTurn<T extends { kind: string }>(samples: T[]): T[] {
  const seen = new Map<string, number>();
  const ranked = samples.map((sample, at) => {
    const reason = sample.kind.split(':')[0] ?? '';
    const turn = seen.get(reason) ?? 0;
    seen.set(reason, turn + 1);
    return { sample, turn, at };
  });
  return ranked.sort((a, b) => a.turn - b.turn || a.at - b.at).map((r) => r.sample);
}
