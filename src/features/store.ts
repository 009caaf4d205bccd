/**
 * The online card-history store on Redis 7: one Lua script per transaction reads a card's history and appends the
 * transaction atomically, idempotent by transactionId, so concurrent and retried scoring of one card's transactions
 * sees a consistent history. Batch replay has an in-memory twin with the same rules (src/features/replay-history.ts).
 *
 * Per card, two keys sharing the hash tag `{<cardToken>}` (one Redis Cluster slot, as a script's keys must be):
 * - `<prefix>:card:{<token>}:time`, a sorted set of transactionIds scored by occurredAt (ms). Equal scores sort by
 *   member bytes, which is the pure module's tie-break (compareEntries), so ranges here match its order;
 * - `<prefix>:card:{<token>}:entries`, a hash of transactionId → `<seq>|<entry JSON>`, where seq is the card's
 *   arrival sequence (field `#seq`, a name no transactionId can take, holds the last one).
 */
import { Redis } from 'ioredis';
import type { RedisOptions, Result } from 'ioredis';
import { z } from 'zod';
import type { FeatureWindow } from './card-history';
import { defaultFeatureWindow } from './card-history';
import type { HistoryRetention } from './retention';
import { defaultHistoryRetention, retentionTtlMs } from './retention';
import { logger } from '../observability/logger';
import { CardHistoryEntry } from '../schemas/card-features';

/** Reads a card's history and appends one entry; the feature activity depends on this, not on Redis. */
export interface CardHistoryStore {
  /**
   * The card's history as it was when `entry` first arrived (entries that arrived before it, within the feature
   * window of `entry`), after appending `entry` if its transactionId is new.
   */
  readAndAppend(cardToken: string, entry: CardHistoryEntry): Promise<CardHistoryEntry[]>;
  /**
   * readAndAppend plus other reads in the same round trip (one pipeline): the rules' list memberships and the live
   * rule set's hash, so they cost no extra latency. Results come back in the order of `reads`.
   */
  readAndAppendWith?(
    cardToken: string,
    entry: CardHistoryEntry,
    reads: StoreRead[],
  ): Promise<{ history: CardHistoryEntry[]; reads: unknown[] }>;
}

/** A read that rides along with the card-history script: set membership of several members, or a hash field. */
export type StoreRead =
  { command: 'smismember'; key: string; members: string[] } | { command: 'hget'; key: string; field: string };

export interface RedisCardHistoryStoreOptions {
  /** Ignored when `redis` is given. @default 'redis://127.0.0.1:6379/0' */
  url?: string;
  /** A client to use instead of connecting to `url`; the caller keeps it and closes it. */
  redis?: Redis;
  /** Connection options for `url`, over the store's fail-fast defaults. */
  redisOptions?: RedisOptions;
  /** The feature window the returned history is cut to; use the same one when computing features. */
  window?: FeatureWindow;
  /** @default defaultHistoryRetention (32 entries, 1 day beyond the window) */
  retention?: Partial<HistoryRetention>;
  /** First segment of every key, so deployments and tests can share one Redis. @default 'ff' */
  keyPrefix?: string;
}

const commandName = 'fraudflowCardHistoryReadAndAppend';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fraudflowCardHistoryReadAndAppend(
      timeKey: string,
      entriesKey: string,
      ...args: string[]
    ): Result<string[], Context>;
  }
}

/**
 * KEYS: the card's time sorted set and entries hash. ARGV: transactionId, occurredAt ms, entry JSON, maxAgeMs,
 * maxCount, countMargin, ageSlackMs, ttlMs. Returns the history as entry JSON strings, newest first: entries with
 * occurredAt in (t − maxAge, t] whose seq is below the transaction's own, at most maxCount of them. The entry JSON
 * is stored and returned as an opaque string, so no number passes through Lua's number formatting.
 */
const readAndAppendLua = `
local timeKey, entriesKey = KEYS[1], KEYS[2]
local id, at, json = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local maxAge, maxCount = tonumber(ARGV[4]), tonumber(ARGV[5])
local margin, slack, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])

local function seqOf(value) return tonumber(string.match(value, '^(%d+)|')) end
local function ms(value) return string.format('%.0f', value) end
local function remove(ids)
  for i = 1, #ids, 500 do
    local chunk = { unpack(ids, i, math.min(i + 499, #ids)) }
    redis.call('ZREM', timeKey, unpack(chunk))
    redis.call('HDEL', entriesKey, unpack(chunk))
  end
end

local stored = redis.call('HGET', entriesKey, id)
local seq
if stored then
  seq = seqOf(stored)
else
  seq = redis.call('HINCRBY', entriesKey, '#seq', 1)
  redis.call('HSET', entriesKey, id, seq .. '|' .. json)
  redis.call('ZADD', timeKey, ARGV[2], id)
  -- Same rules as retainedStart in src/features/retention.ts.
  local newest = tonumber(redis.call('ZRANGE', timeKey, -1, -1, 'WITHSCORES')[2])
  remove(redis.call('ZRANGEBYSCORE', timeKey, '-inf', ms(newest - maxAge - slack)))
  local excess = redis.call('ZCARD', timeKey) - (maxCount + margin)
  if excess > 0 then remove(redis.call('ZRANGE', timeKey, 0, excess - 1)) end
end
redis.call('PEXPIRE', timeKey, ttl)
redis.call('PEXPIRE', entriesKey, ttl)

local history = {}
local ids = redis.call('ZRANGEBYSCORE', timeKey, '(' .. ms(at - maxAge), ms(at))
if #ids > 0 and maxCount > 0 then
  local values = redis.call('HMGET', entriesKey, unpack(ids))
  for i = #values, 1, -1 do
    local value = values[i]
    if value and seqOf(value) < seq then
      history[#history + 1] = string.sub(value, string.find(value, '|', 1, true) + 1)
      if #history >= maxCount then break end
    end
  end
end
return history
`;

/** Fail fast while Redis is down: the activity's retry policy, not the client's queue, decides when to try again. */
const defaultRedisOptions: RedisOptions = {
  lazyConnect: true,
  connectTimeout: 2_000,
  commandTimeout: 2_000,
  maxRetriesPerRequest: 1,
};

export class RedisCardHistoryStore implements CardHistoryStore {
  readonly window: FeatureWindow;
  readonly retention: HistoryRetention;
  private readonly redis: Redis;
  private readonly ownsClient: boolean;
  private readonly keyPrefix: string;
  private connectionError: string | undefined;

  constructor(options: RedisCardHistoryStoreOptions = {}) {
    this.window = options.window ?? defaultFeatureWindow;
    this.retention = { ...defaultHistoryRetention, ...options.retention };
    this.keyPrefix = options.keyPrefix ?? 'ff';
    this.ownsClient = options.redis === undefined;
    this.redis =
      options.redis ??
      new Redis(options.url ?? 'redis://127.0.0.1:6379/0', { ...defaultRedisOptions, ...options.redisOptions });
    // Without a listener ioredis prints every reconnect failure. A command rejected after its retries says only
    // that it ran out of them, so the connection's own error is kept for the message.
    this.redis.on('error', (err: Error) => {
      this.connectionError = err.message;
      if (this.ownsClient) logger.warn({ err: err.message }, 'feature store connection error');
    });
    this.redis.on('ready', () => (this.connectionError = undefined));
    this.redis.defineCommand(commandName, { numberOfKeys: 2, lua: readAndAppendLua });
  }

  /** The client, for the stores that share the feature store's Redis (the rules' lists and live rule set). */
  get client(): Redis {
    return this.redis;
  }

  /** The first segment of every key this store and its neighbours write. */
  get prefix(): string {
    return this.keyPrefix;
  }

  /** The keys holding a card's history. */
  cardKeys(cardToken: string): { time: string; entries: string } {
    const base = `${this.keyPrefix}:card:{${cardToken}}`;
    return { time: `${base}:time`, entries: `${base}:entries` };
  }

  async readAndAppend(cardToken: string, entry: CardHistoryEntry): Promise<CardHistoryEntry[]> {
    const keys = this.cardKeys(cardToken);
    const newestFirst = await this.redis
      .fraudflowCardHistoryReadAndAppend(keys.time, keys.entries, ...this.scriptArgs(entry))
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        const cause = this.connectionError ? ` (connection: ${this.connectionError})` : '';
        throw new Error(`card ${cardToken}: ${message}${cause}`, { cause: err });
      });
    return newestFirst.reverse().map((json) => parseEntry(json, cardToken));
  }

  async readAndAppendWith(
    cardToken: string,
    entry: CardHistoryEntry,
    reads: StoreRead[],
  ): Promise<{ history: CardHistoryEntry[]; reads: unknown[] }> {
    const keys = this.cardKeys(cardToken);
    const pipeline = this.redis.pipeline();
    pipeline.fraudflowCardHistoryReadAndAppend(keys.time, keys.entries, ...this.scriptArgs(entry));
    for (const read of reads) {
      if (read.command === 'smismember') pipeline.smismember(read.key, ...read.members);
      else pipeline.hget(read.key, read.field);
    }
    const results = await pipeline.exec().catch((err: unknown) => {
      throw this.storeError(cardToken, err);
    });
    const failed = results?.find(([err]) => err !== null);
    if (!results || failed) throw this.storeError(cardToken, failed?.[0] ?? new Error('no answer'));
    const newestFirst = results[0]![1] as string[];
    return {
      history: newestFirst.reverse().map((json) => parseEntry(json, cardToken)),
      reads: results.slice(1).map(([, value]) => value),
    };
  }

  private scriptArgs(entry: CardHistoryEntry): string[] {
    return [
      entry.transactionId,
      String(entry.occurredAtMs),
      JSON.stringify(entry),
      String(this.window.maxAgeMs),
      String(this.window.maxCount),
      String(this.retention.countMargin),
      String(this.retention.ageSlackMs),
      String(retentionTtlMs(this.window, this.retention)),
    ];
  }

  private storeError(cardToken: string, err: unknown): Error {
    const message = err instanceof Error ? err.message : String(err);
    const cause = this.connectionError ? ` (connection: ${this.connectionError})` : '';
    return new Error(`card ${cardToken}: ${message}${cause}`, { cause: err });
  }

  /** Entries currently kept for a card (retention included), for operations and tests. */
  retainedCount(cardToken: string): Promise<number> {
    return this.redis.zcard(this.cardKeys(cardToken).time);
  }

  /** Resolves when Redis answers PING; rejects with the connection error otherwise. */
  async ping(): Promise<void> {
    const answer: string = await this.redis.ping();
    if (answer !== 'PONG') throw new Error(`feature store answered ${answer} to PING`);
  }

  /** Closes the connection this store opened; a client passed in is left to its owner. */
  async close(): Promise<void> {
    if (!this.ownsClient) return;
    if (this.redis.status === 'ready') await this.redis.quit();
    else this.redis.disconnect();
  }
}

/** Entries come back as the JSON this store wrote; anything else means the keys were written by something else. */
function parseEntry(json: string, cardToken: string): CardHistoryEntry {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`feature store: card ${cardToken} holds an entry that is not JSON: ${json.slice(0, 200)}`);
  }
  const parsed = CardHistoryEntry.safeParse(value);
  if (!parsed.success) {
    throw new Error(`feature store: card ${cardToken} holds an invalid entry:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
