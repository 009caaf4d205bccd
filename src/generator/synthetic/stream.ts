/** The stream: legitimate purchases paced by local time of day, with fraud episode steps merged in by time. */
import type { TransactionEvent } from '../../schemas/transaction-event';
import { spendingRatePerDay } from './cardholders';
import type { Draft } from './compose';
import { MEAN_EPISODE_STEPS, planFraudEpisode } from './fraud-episodes';
import type { EpisodeStep } from './fraud-episodes';
import { legitimatePurchase } from './legitimate';
import { DAY_MS } from './reference';
import { createSimulation } from './simulation';
import type { Simulation } from './simulation';

export interface TransactionGeneratorOptions {
  /** PRNG seed: the same seed always yields the same sequence. @default 1 */
  seed?: number;
  /** Share of events that belong to a fraud pattern, between 0 and 1. @default 0.05 */
  fraudShare?: number;
  /** occurredAt of the start of the stream; a fixed default keeps the generator pure. @default 2025-01-06T00:00:00Z */
  startTime?: Date;
  /** transactionId prefix; ids read `${idPrefix}-${seed}-${counter}`. @default 'txn' */
  idPrefix?: string;
}

export interface TransactionGenerator {
  /** The next event in occurredAt order; it always passes `TransactionEvent.parse`. */
  next(): TransactionEvent;
}

const DEFAULT_START = Date.parse('2025-01-06T00:00:00.000Z');

export class SyntheticStream implements TransactionGenerator {
  private readonly sim: Simulation;
  private readonly seed: number;
  private readonly fraudShare: number;
  private readonly idPrefix: string;
  /** Episode steps not emitted yet, in time order. */
  private readonly pending: EpisodeStep[] = [];
  private clock: number;
  private emitted = 0;
  private fraudEmitted = 0;

  constructor(opts: TransactionGeneratorOptions) {
    const seed = opts.seed ?? 1;
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    this.seed = Math.trunc(seed) >>> 0;
    const fraudShare = opts.fraudShare ?? 0.05;
    if (!(fraudShare >= 0 && fraudShare <= 1))
      throw new RangeError(`fraudShare must be within [0, 1], got ${fraudShare}`);
    this.fraudShare = fraudShare;
    this.idPrefix = opts.idPrefix ?? 'txn';
    if (!/^[A-Za-z0-9._:-]{1,80}$/.test(this.idPrefix)) {
      throw new RangeError('idPrefix must be 1-80 chars of [A-Za-z0-9._:-] so transactionIds stay valid');
    }
    const start = opts.startTime?.getTime() ?? DEFAULT_START;
    if (!Number.isFinite(start)) throw new RangeError('startTime is an invalid Date');
    this.clock = start;
    this.sim = createSimulation(this.seed);
  }

  next(): TransactionEvent {
    const legitAt = this.clock + this.sampleGapMs();
    if (!this.isDue(legitAt) && this.shouldStartEpisode()) {
      for (const step of planFraudEpisode(this.sim, legitAt)) this.schedule(step);
    }
    let draft: Draft;
    const step = this.pending[0];
    if (step && step.at <= legitAt) {
      this.pending.shift();
      this.clock = Math.max(this.clock, step.at);
      draft = step.emit(this.clock);
      this.fraudEmitted++;
    } else {
      this.clock = legitAt;
      draft = legitimatePurchase(this.sim, legitAt);
    }
    this.emitted++;
    return {
      schemaVersion: 1,
      transactionId: `${this.idPrefix}-${this.seed}-${this.emitted}`,
      occurredAt: new Date(this.clock).toISOString(),
      ...draft,
    };
  }

  /** Gap to the next legitimate purchase: a Poisson process whose rate follows each region's local time of day. */
  private sampleGapMs(): number {
    const perDay = spendingRatePerDay(this.sim.population, this.clock);
    return Math.max(50, this.sim.rng.exponential(DAY_MS / Math.max(perDay, 1)));
  }

  private isDue(at: number): boolean {
    const head = this.pending[0];
    return head !== undefined && head.at <= at;
  }

  /**
   * Starts fraud episodes so that fraud steps committed so far track `fraudShare` of the events emitted, with some
   * randomness in the spacing: the chance grows with the deficit, so the share holds over short runs as well.
   */
  private shouldStartEpisode(): boolean {
    if (this.fraudShare <= 0) return false;
    if (this.fraudShare >= 1) return true;
    const deficit = this.fraudShare * (this.emitted + 1) - (this.fraudEmitted + this.pending.length);
    return deficit > 0 && this.sim.rng.float() * MEAN_EPISODE_STEPS < deficit;
  }

  /** Inserts after every step due at the same time or earlier, so steps due together keep the order they came in. */
  private schedule(step: EpisodeStep): void {
    let i = this.pending.length;
    while (i > 0) {
      const before = this.pending[i - 1];
      if (before === undefined || before.at <= step.at) break;
      i--;
    }
    this.pending.splice(i, 0, step);
  }
}
