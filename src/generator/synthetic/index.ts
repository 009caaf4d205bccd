/**
 * Synthetic card transactions for demos, load tests and backtests.
 *
 * The generator is pure: no clock, no I/O, no global randomness. Everything comes from one seeded PRNG, so a seed
 * reproduces the exact stream and a surprising backtest can be replayed event for event.
 *
 * The stream simulates a few hundred cardholders spending at a realistic pace (a couple of purchases a day each,
 * following the local time of day), so per-card velocity features stay believable. Fraud arrives as episodes on a
 * victim's card (a card-testing run, a burst of purchases, ...) whose steps are merged into the stream by time.
 *
 * stream.ts paces the stream; legitimate.ts and fraud-episodes.ts choose each purchase and compose.ts makes it an
 * event. simulation.ts, cardholders.ts and merchants.ts hold the simulated world, tables.ts and reference.ts its
 * reference data, random.ts the PRNG.
 */
import { SyntheticStream } from './stream';
import type { TransactionGenerator, TransactionGeneratorOptions } from './stream';

export { fraudPatterns } from './tables';
export { mulberry32 } from './random';
export type { TransactionGeneratorOptions } from './stream';

/**
 * A deterministic stream of realistic synthetic transactions; every event carries its ground truth in `label`
 * (`source: 'synthetic'`, and the fraud pattern when it is fraud).
 */
export function createTransactionGenerator(opts: TransactionGeneratorOptions = {}): TransactionGenerator {
  const stream = new SyntheticStream(opts);
  return { next: () => stream.next() };
}
