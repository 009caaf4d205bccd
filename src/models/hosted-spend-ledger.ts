/**
 * The day's hosted spend, shared by every worker, on Redis: a paid call **reserves** its most it can cost before it
 * is made and **settles** at what it cost after, each in one Lua script, so concurrent scoring workflows can never
 * together promise more than the day's cap (the check and the reservation are one atomic step). Both are idempotent
 * per call id (an activity retried after a lost reply changes nothing), and every key expires two days after its
 * day, so memory is bounded by one day's paid calls (about 100 bytes each, measured by bench/hosted-budget.ts).
 *
 * Overspend bound: the cap is never exceeded by reservations. A call can only spend beyond its reservation when its
 * price is above the reserved estimate (a longer prompt than {@link reservationInputTokens}); the day's spend is
 * then at most cap + Σ (cost − estimate) over those calls, and the next reservation sees it.
 *
 * Keys share the hash tag `{<scope>:<day>}` (one Redis Cluster slot, as a script's keys must be):
 * `<prefix>:hosted-spend:{<scope>:<day>}` is a hash (spent, reserved in micro-USD, calls) and
 * `<prefix>:hosted-spend:{<scope>:<day>}:calls` a hash of call id → `reserved:<micro-USD>` | `settled:<micro-USD>`.
 */
import { Redis } from 'ioredis';
import type { Result } from 'ioredis';
import { logger } from '../observability/logger';

/** Input tokens a reservation prices a call at: hosted prompts are ~600 tokens, so this is a generous ceiling. */
export const reservationInputTokens = 4096;

/** Keys outlive their day by this much, so late settlements still count and nothing lingers. */
const ttlSeconds = 2 * 24 * 3600;

export interface HostedSpend {
  spentUsd: number;
  reservedUsd: number;
  /** Paid calls settled. */
  calls: number;
}

export type Reservation = { granted: true } | { granted: false; spentUsd: number; reservedUsd: number };

const reserveLua = `
local totals, calls = KEYS[1], KEYS[2]
local id, estimate, cap, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HGET', calls, id)
if state then return {1, 0, 0} end
local spent = tonumber(redis.call('HGET', totals, 'spent') or '0')
local reserved = tonumber(redis.call('HGET', totals, 'reserved') or '0')
if spent + reserved + estimate > cap then return {0, spent, reserved} end
redis.call('HINCRBY', totals, 'reserved', ARGV[2])
redis.call('HSET', calls, id, 'reserved:' .. ARGV[2])
redis.call('EXPIRE', totals, ttl)
redis.call('EXPIRE', calls, ttl)
return {1, 0, 0}
`;

/**
 * A settled call stays `settled`, so a repeated settlement counts nothing; an unreserved one is counted directly.
 * Amounts stay the strings they arrived as (whole micro-USD): a Lua number can print as `-0` or in exponent form,
 * which HINCRBY refuses.
 */
const settleLua = `
local totals, calls = KEYS[1], KEYS[2]
local id, cost, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HGET', calls, id)
if state and string.sub(state, 1, 8) == 'settled:' then return 0 end
local held = state and string.sub(state, 10) or '0'
if held ~= '0' then redis.call('HINCRBY', totals, 'reserved', '-' .. held) end
redis.call('HINCRBY', totals, 'spent', ARGV[2])
if cost > 0 then redis.call('HINCRBY', totals, 'calls', 1) end
redis.call('HSET', calls, id, 'settled:' .. ARGV[2])
redis.call('EXPIRE', totals, ttl)
redis.call('EXPIRE', calls, ttl)
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fraudflowReserveHostedSpend(totals: string, calls: string, ...args: string[]): Result<number[], Context>;
    fraudflowSettleHostedSpend(totals: string, calls: string, ...args: string[]): Result<number, Context>;
  }
}

/** Micro-USD: whole numbers, so totals add up exactly in Redis's integer counters. */
const micros = (usd: number) => Math.round(usd * 1e6);

export interface HostedSpendLedgerOptions {
  /** The deployment's scope (its orchestration task queue), so deployments sharing a Redis keep separate days. */
  scope: string;
  /** Ignored when `redis` is given. @default 'redis://127.0.0.1:6379/0' */
  url?: string;
  /** A client to use instead of connecting to `url`; the caller keeps it and closes it. */
  redis?: Redis;
  /** First segment of every key. @default 'ff' */
  keyPrefix?: string;
}

export class HostedSpendLedger {
  private readonly redis: Redis;
  private readonly ownsClient: boolean;
  private readonly scope: string;
  readonly keyPrefix: string;

  constructor(options: HostedSpendLedgerOptions) {
    this.scope = options.scope;
    this.keyPrefix = options.keyPrefix ?? 'ff';
    this.ownsClient = options.redis === undefined;
    // Fail fast while Redis is down: the activity's retry policy decides when to try again.
    this.redis =
      options.redis ??
      new Redis(options.url ?? 'redis://127.0.0.1:6379/0', {
        lazyConnect: true,
        connectTimeout: 2_000,
        commandTimeout: 2_000,
        maxRetriesPerRequest: 1,
      });
    if (this.ownsClient) {
      this.redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'hosted-spend ledger connection error'));
    }
    this.redis.defineCommand('fraudflowReserveHostedSpend', { numberOfKeys: 2, lua: reserveLua });
    this.redis.defineCommand('fraudflowSettleHostedSpend', { numberOfKeys: 2, lua: settleLua });
  }

  close(): void {
    if (this.ownsClient) this.redis.disconnect();
  }

  private keys(day: string): [string, string] {
    const totals = `${this.keyPrefix}:hosted-spend:{${this.scope}:${day}}`;
    return [totals, `${totals}:calls`];
  }

  /** Reserves `estimateUsd` for call `callId` on `day` unless that would take spent + reserved past `capUsd`. */
  async reserve(day: string, callId: string, estimateUsd: number, capUsd: number): Promise<Reservation> {
    const [granted, spent, reserved] = await this.redis.fraudflowReserveHostedSpend(
      ...this.keys(day),
      callId,
      String(micros(estimateUsd)),
      String(micros(capUsd)),
      String(ttlSeconds),
    );
    return granted === 1 ? { granted: true } : { granted: false, spentUsd: spent! / 1e6, reservedUsd: reserved! / 1e6 };
  }

  /** Settles call `callId` at `costUsd` (0 releases its reservation: the call failed and cost nothing). */
  async settle(day: string, callId: string, costUsd: number): Promise<void> {
    await this.redis.fraudflowSettleHostedSpend(...this.keys(day), callId, String(micros(costUsd)), String(ttlSeconds));
  }

  async spend(day: string): Promise<HostedSpend> {
    const totals = await this.redis.hgetall(this.keys(day)[0]);
    return {
      spentUsd: Number(totals.spent ?? 0) / 1e6,
      reservedUsd: Number(totals.reserved ?? 0) / 1e6,
      calls: Number(totals.calls ?? 0),
    };
  }
}
