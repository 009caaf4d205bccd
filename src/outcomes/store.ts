/**
 * The outcome store on Redis: each transaction's decision joined with its label, and the live-quality tallies.
 * Every change is one optimistic transaction (WATCH the record, compute the change with the pure functions of
 * outcome-record.ts, MULTI/EXEC the record and the tally moves together), so concurrent consumers and redeliveries
 * never count a transaction twice.
 *
 * Keys, under a prefix (default `ff`):
 * - `<p>:outcome:{<transactionId>}`: the record (decision summary and label) as JSON; lives for the retention;
 * - `<p>:quality:<policyHash>:<hourMs>`: a hash of confusion cells (`review|fraud` → count) and `delay` (summed
 *   label delay, s) of the labelled outcomes decided in that hour; lives as long as the longest window needs it;
 * - `<p>:drift:<policyHash>:<hourMs>`: a hash of score bin → live first-pass probabilities decided in that hour;
 * - `<p>:quality:policies`: policy hashes by their latest decision time;
 * - `<p>:outcomes:awaiting`: transactionIds that have a label but no decision yet, by when the label came;
 * - `<p>:outcomes:counts`: what happened to decisions and labels (see {@link OutcomeCounts}).
 */
import { Redis } from 'ioredis';
import type { ChainableCommander, RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { Label } from '../schemas/label';
import type { ScoreDistribution } from '../scoring/score-distribution';
import { binOf } from '../scoring/score-distribution';
import { logger } from '../observability/logger';
import type { HourlyTally } from './live-quality';
import { confusionCells, hourMs, hourOf, longestWindowMs } from './live-quality';
import type { CountedCell, DecisionSummary, LabelEffect } from './outcome-record';
import { OutcomeRecord, applyDecision, applyLabel, countedCell, sameCell } from './outcome-record';

const dayMs = 24 * hourMs;

/**
 * How long a record is kept after its last change: long enough for a chargeback, which card networks allow up to
 * 120 days after the transaction. @default 120 days
 */
export const defaultOutcomeRetentionMs = 120 * dayMs;

/** Tallies live an hour past the longest window. */
const tallyRetentionMs = longestWindowMs + hourMs;

export const outcomeCountNames = [
  'decisions',
  'decisionRedeliveries',
  'labels',
  'duplicateLabels',
  'replacedLabels',
  'keptLabels',
  'conflictingLabels',
  'labelsBeforeDecision',
  'labelsJoinedLate',
  'deadLetteredLabels',
] as const;
export type OutcomeCountName = (typeof outcomeCountNames)[number];
/**
 * Cumulative counts: `decisions` (first decision of a transaction), `decisionRedeliveries` (any later one: the
 * final decision of a review, or a redelivery), `labels` (valid labels received), `duplicateLabels` (identical to
 * the one held), `replacedLabels` / `keptLabels` (a different label, and whether the precedence rule took it),
 * `conflictingLabels` (a different outcome than the one held), `labelsBeforeDecision` (for a transaction with no
 * decision yet: kept, joined when it arrives), `labelsJoinedLate` (those that were joined), `deadLetteredLabels`.
 */
export type OutcomeCounts = Record<OutcomeCountName, number>;

export interface OutcomeStoreOptions {
  /** @default 'redis://127.0.0.1:6379/0' */
  url?: string;
  redisOptions?: RedisOptions;
  /** @default 'ff' */
  keyPrefix?: string;
  /** @default defaultOutcomeRetentionMs (120 days) */
  retentionMs?: number;
  /** The tuning distribution of a policy hash, whose bins live probabilities are counted in; none: no drift. */
  driftReference?: (policyHash: string) => ScoreDistribution | undefined;
  /** The clock. @default Date.now */
  now?: () => number;
}

/** What recording a label did. */
export interface LabelRecorded {
  effect: LabelEffect;
  conflict: boolean;
  /** The transaction has no decision yet: the label is kept until it comes. */
  awaitingDecision: boolean;
  /** The outcome now counted for the first time (the decision was already there). */
  joined: CountedCell | undefined;
}

export interface DecisionRecorded {
  /** The first decision seen for the transaction. */
  first: boolean;
  /** The outcome now counted for the first time (a label had come first). */
  joined: CountedCell | undefined;
}

/** The hourly tallies and score bins of one policy hash, for live quality. */
export interface PolicyTallies {
  policyHash: string;
  tallies: HourlyTally[];
  scoreBins: Array<{ hourMs: number; counts: number[] }>;
}

interface Change {
  record: OutcomeRecord;
  counts: Partial<OutcomeCounts>;
  /** Extra commands of the same transaction. */
  also?: (multi: ChainableCommander) => void;
}

/** Attempts of one optimistic transaction before giving up: only a hot key loses this many races. */
const maxAttempts = 20;

export class OutcomeStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: OutcomeStoreOptions = {}) {
    this.prefix = options.keyPrefix ?? 'ff';
    this.retentionMs = options.retentionMs ?? defaultOutcomeRetentionMs;
    this.now = options.now ?? Date.now;
    // Fail fast while Redis is down: the consumer keeps the message and tries again.
    this.redis = new Redis(options.url ?? 'redis://127.0.0.1:6379/0', {
      lazyConnect: true,
      connectTimeout: 2_000,
      commandTimeout: 5_000,
      maxRetriesPerRequest: 1,
      ...options.redisOptions,
    });
    this.redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'outcome store connection error'));
  }

  recordKey(transactionId: string): string {
    return `${this.prefix}:outcome:{${transactionId}}`;
  }

  private tallyKey(policyHash: string, hour: number): string {
    return `${this.prefix}:quality:${policyHash}:${hour}`;
  }

  private binsKey(policyHash: string, hour: number): string {
    return `${this.prefix}:drift:${policyHash}:${hour}`;
  }

  private get policiesKey(): string {
    return `${this.prefix}:quality:policies`;
  }

  private get awaitingKey(): string {
    return `${this.prefix}:outcomes:awaiting`;
  }

  private get countsKey(): string {
    return `${this.prefix}:outcomes:counts`;
  }

  /** The record of a transaction, or undefined. */
  async read(transactionId: string): Promise<OutcomeRecord | undefined> {
    return parseRecord(await this.redis.get(this.recordKey(transactionId)), transactionId);
  }

  /** Joins a published decision (its summary) into its transaction's record. */
  recordDecision(summary: DecisionSummary): Promise<DecisionRecorded> {
    let result: DecisionRecorded = { first: false, joined: undefined };
    return this.update(summary.transactionId, (before) => {
      const record = applyDecision(before, summary);
      const first = before.decision === undefined;
      const awaited = first && before.label !== undefined;
      result = { first, joined: awaited ? countedCell(record) : undefined };
      return {
        record,
        counts: first ? { decisions: 1, ...(awaited ? { labelsJoinedLate: 1 } : {}) } : { decisionRedeliveries: 1 },
        also: (multi) => {
          if (!first) return;
          if (awaited) multi.zrem(this.awaitingKey, summary.transactionId);
          this.countScore(multi, summary);
        },
      };
    }).then(() => result);
  }

  /** Applies a valid label to its transaction's record under the precedence rule. */
  recordLabel(label: Label): Promise<LabelRecorded> {
    let result: LabelRecorded = { effect: 'first', conflict: false, awaitingDecision: false, joined: undefined };
    return this.update(label.transactionId, (before) => {
      const { record, effect, conflict } = applyLabel(before, label);
      const awaitingDecision = record.decision === undefined;
      result = { effect, conflict, awaitingDecision, joined: effect === 'first' ? countedCell(record) : undefined };
      const counts: Partial<OutcomeCounts> = { labels: 1 };
      if (effect === 'duplicate') counts.duplicateLabels = 1;
      if (effect === 'replaced') counts.replacedLabels = 1;
      if (effect === 'kept') counts.keptLabels = 1;
      if (conflict) counts.conflictingLabels = 1;
      if (effect === 'first' && awaitingDecision) counts.labelsBeforeDecision = 1;
      return {
        record,
        counts,
        also: (multi) => {
          if (effect === 'first' && awaitingDecision) multi.zadd(this.awaitingKey, this.now(), label.transactionId);
        },
      };
    }).then(() => result);
  }

  /** Counts a label refused to the dead-letter topic. */
  async countDeadLetteredLabel(): Promise<void> {
    await this.redis.hincrby(this.countsKey, 'deadLetteredLabels', 1);
  }

  async counts(): Promise<OutcomeCounts> {
    const raw = await this.redis.hgetall(this.countsKey);
    return Object.fromEntries(outcomeCountNames.map((n) => [n, Number(raw[n] ?? 0)])) as OutcomeCounts;
  }

  /** Labels still waiting for their transaction's decision (older than the retention are dropped first). */
  async awaitingDecision(): Promise<number> {
    await this.redis.zremrangebyscore(this.awaitingKey, '-inf', this.now() - this.retentionMs);
    return this.redis.zcard(this.awaitingKey);
  }

  /** The tallies and score bins of every policy hash with decisions in the longest window. */
  async policyTallies(): Promise<PolicyTallies[]> {
    const now = this.now();
    const from = hourOf(now - longestWindowMs);
    await this.redis.zremrangebyscore(this.policiesKey, '-inf', from - 1);
    const policies = await this.redis.zrangebyscore(this.policiesKey, from, '+inf');
    const hours: number[] = [];
    for (let h = from; h <= now; h += hourMs) hours.push(h);
    return Promise.all(
      policies.map(async (policyHash) => {
        const pipeline = this.redis.pipeline();
        for (const h of hours) pipeline.hgetall(this.tallyKey(policyHash, h));
        for (const h of hours) pipeline.hgetall(this.binsKey(policyHash, h));
        const replies = (await pipeline.exec()) ?? [];
        const hashAt = (i: number): Record<string, string> => {
          const [err, value] = replies[i] ?? [null, {}];
          if (err) throw err;
          return (value ?? {}) as Record<string, string>;
        };
        const tallies = hours.flatMap((h, i) => tallyOf(h, hashAt(i)));
        const scoreBins = hours.flatMap((h, i) => binsOf(h, hashAt(hours.length + i)));
        return { policyHash, tallies, scoreBins };
      }),
    );
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.redis.status === 'ready') await this.redis.quit();
    else this.redis.disconnect();
  }

  /** One update at a time per store: WATCH belongs to the connection, so changes must not interleave on it. */
  private update(transactionId: string, change: (before: OutcomeRecord) => Change): Promise<void> {
    const run = this.queue.catch(() => undefined).then(() => this.updateWatched(transactionId, change));
    this.queue = run;
    return run;
  }

  private async updateWatched(transactionId: string, change: (before: OutcomeRecord) => Change): Promise<void> {
    const key = this.recordKey(transactionId);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      await this.redis.watch(key);
      const before = await this.readForUpdate(transactionId);
      const { record, counts, also } = change(before);
      const multi = this.redis.multi();
      multi.set(key, JSON.stringify(record), 'PX', this.retentionMs);
      this.moveCount(multi, countedCell(before), countedCell(record));
      for (const [name, n] of Object.entries(counts)) multi.hincrby(this.countsKey, name, n);
      also?.(multi);
      if ((await multi.exec()) !== null) return;
      // Another store changed it meanwhile: back off a random while, so two stores do not collide in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
    throw new Error(`outcome store: transaction ${transactionId} changed under ${maxAttempts} attempts in a row`);
  }

  /**
   * The record to change. One that does not parse (written by something else) is replaced, with a warning: kept, it
   * would stop the consumer on this transaction for good. Connection errors are thrown for the caller to retry.
   */
  private async readForUpdate(transactionId: string): Promise<OutcomeRecord> {
    let json: string | null;
    try {
      json = await this.redis.get(this.recordKey(transactionId));
    } catch (err) {
      await this.redis.unwatch().catch(() => undefined);
      throw err;
    }
    try {
      return parseRecord(json, transactionId) ?? {};
    } catch (err) {
      logger.warn({ transactionId, err: (err as Error).message }, 'outcome store: unreadable record replaced');
      return {};
    }
  }

  /** Moves a record's count from the cell it was in to the one it is in now (tallies past retention are left). */
  private moveCount(multi: ChainableCommander, from: CountedCell | undefined, to: CountedCell | undefined): void {
    if (sameCell(from, to)) return;
    const now = this.now();
    for (const [cell, sign] of [
      [from, -1],
      [to, 1],
    ] as const) {
      if (!cell) continue;
      const hour = hourOf(cell.decidedAtMs);
      const ttl = hour + tallyRetentionMs - now;
      if (ttl <= 0) continue;
      const key = this.tallyKey(cell.policyHash, hour);
      multi.hincrby(key, `${cell.policyDecision}|${cell.outcome}`, sign);
      multi.hincrbyfloat(key, 'delay', sign * cell.labelDelaySeconds);
      multi.pexpire(key, ttl);
    }
  }

  /** Counts a new decision's policy, and its first-pass probability in its policy's tuning bins. */
  private countScore(multi: ChainableCommander, summary: DecisionSummary): void {
    const decidedAtMs = Date.parse(summary.decidedAt);
    const hour = hourOf(decidedAtMs);
    const ttl = hour + tallyRetentionMs - this.now();
    if (ttl <= 0) return;
    multi.zadd(this.policiesKey, 'GT', decidedAtMs, summary.policyHash);
    const reference = this.options.driftReference?.(summary.policyHash);
    if (!reference || summary.firstPassProbability === undefined) return;
    const key = this.binsKey(summary.policyHash, hour);
    multi.hincrby(key, String(binOf(reference.edges, summary.firstPassProbability)), 1);
    multi.pexpire(key, ttl);
  }
}

function tallyOf(hour: number, hash: Record<string, string>): HourlyTally[] {
  if (Object.keys(hash).length === 0) return [];
  const cells = Object.fromEntries(confusionCells.map((c) => [c, Number(hash[c] ?? 0)]));
  return [{ hourMs: hour, cells, labelDelaySeconds: Number(hash.delay ?? 0) }];
}

function binsOf(hour: number, hash: Record<string, string>): Array<{ hourMs: number; counts: number[] }> {
  const entries = Object.entries(hash).map(([bin, n]) => [Number(bin), Number(n)] as const);
  if (entries.length === 0) return [];
  const counts = new Array<number>(Math.max(...entries.map(([bin]) => bin)) + 1).fill(0);
  for (const [bin, n] of entries) counts[bin] = n;
  return [{ hourMs: hour, counts }];
}

function parseRecord(json: string | null, transactionId: string): OutcomeRecord | undefined {
  if (json === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`outcome store: the record of ${transactionId} is not JSON`);
  }
  const parsed = OutcomeRecord.safeParse(value);
  if (!parsed.success) {
    throw new Error(`outcome store: the record of ${transactionId} is invalid:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
