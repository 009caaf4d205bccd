import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { runReplayCommand } from '../../src/cli/replay';
import { ReplayStore } from '../../src/replay/store';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

/** A labelled sequence on three cards: ordinary use, a burst of small amounts, a jump abroad. */
function labelledSequence(): TransactionEventInput[] {
  const run = randomUUID().slice(0, 8);
  const start = Date.parse('2026-03-02T08:00:00Z');
  const merchants = [
    { id: 'm_grocer', name: 'Corner Grocery', mcc: '5411', category: 'grocery_pos', country: 'US' },
    { id: 'm_fuel', name: 'Gas Stop', mcc: '5541', category: 'gas_transport', country: 'US' },
    { id: 'm_games', name: 'PlayGrid Store', mcc: '5818', category: 'digital_goods', country: 'US' },
    { id: 'm_paris', name: 'Le Petit Bistro', mcc: '5812', category: 'restaurant', country: 'FR' },
  ];
  const places = [
    { lat: 40.71, lon: -74.01, country: 'US' },
    { lat: 48.86, lon: 2.35, country: 'FR' },
  ];
  const events: TransactionEventInput[] = [];
  for (let card = 0; card < 3; card++) {
    for (let i = 0; i < 8; i++) {
      const testing = card === 1 && i >= 4;
      const abroad = card === 2 && i === 7;
      // Ordinary use every 95 minutes; card 1 then tries four small amounts two minutes apart.
      const minutes = card * 7 + (testing ? 3 * 95 + (i - 3) * 2 : i * 95);
      events.push(
        sampleTransaction({
          transactionId: `t-seq-${run}-${card}-${i}`,
          cardToken: `tok_seq_${run}_${card}`,
          occurredAt: new Date(start + minutes * 60_000).toISOString(),
          amount: { minor: testing ? 150 + i : 2_000 + 1_700 * i + 500 * card, currency: 'USD' },
          merchant: merchants[abroad ? 3 : testing ? 2 : i % 2]!,
          channel: testing ? 'ecommerce' : 'card_present',
          geo: { ...places[abroad ? 1 : 0]! },
          label: { isFraud: testing || abroad, source: 'test' },
        }),
      );
    }
  }
  return events.sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
}

/** Card history computed by the streaming path (Redis) and by replay (the replayed rows) must be the same. */
describe('card-history features', () => {
  let pipeline: TestPipeline;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-features-'));
  beforeAll(async () => {
    pipeline = await startTestPipeline({ name: 'features', ingest: true, env: { HOSTED_ESCALATION_ENABLED: 'false' } });
  });
  afterAll(async () => {
    await pipeline?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('are identical in streaming and in replay for one labelled sequence', async () => {
    const events = labelledSequence();
    // One at a time, as a card's transactions arrive: each is decided before the next is sent.
    for (const [i, event] of events.entries()) {
      await pipeline.send([{ key: event.transactionId, value: event }]);
      await pipeline.waitForDecisions(i + 1);
    }
    const streamed = new Map(pipeline.decisions.map((d) => [d.transactionId, d.features]));

    const file = path.join(tmp, 'sequence.jsonl');
    fs.writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const config = loadConfig({
      ...process.env,
      REPLAY_DIR: path.join(tmp, 'replays'),
      TASK_QUEUE_PREFIX: `test-features-${randomUUID().slice(0, 8)}`,
      HOSTED_ESCALATION_ENABLED: 'false',
      METRICS_PORT: '0',
      SDK_METRICS_PORT: '0',
    });
    const report = await runReplayCommand(config, {
      source: file,
      chunkSize: 10,
      chunkParallelism: 2,
      workers: true,
      log: () => undefined,
    });
    const replayed = new ReplayStore(config.replayDir).readResults(report.replayId);
    expect(replayed).toHaveLength(events.length);
    for (const row of replayed) {
      expect(row.decision.features, row.decision.transactionId).toBeDefined();
      expect(row.decision.features).toEqual(streamed.get(row.decision.transactionId));
    }
    // The sequence is not trivial: history builds up, the burst and the jump abroad show.
    const burst = replayed.find((r) => r.decision.transactionId.endsWith('-1-7'))!.decision.features!;
    expect(burst.txnCount1h).toBe(4);
    expect(burst.smallAmountCount10m).toBe(3);
    const abroad = replayed.find((r) => r.decision.transactionId.endsWith('-2-7'))!.decision.features!;
    expect(abroad.firstTimeCountry).toBe(true);
    expect(abroad.distanceKmFromPrevious).toBeGreaterThan(5_000);
    expect(replayed.every((r) => r.label !== undefined)).toBe(true);
  }, 300_000);
});
