import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventContentHash } from '../../src/kafka/content-hash';
import { parseTransactionMessage } from '../../src/kafka/transaction-messages';
import { DeadLetter } from '../../src/schemas/dead-letter';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction } from '../support/pipeline';
import { startTestPipeline } from '../support/pipeline';

const hashOf = (event: TransactionEventInput) =>
  eventContentHash(parseTransactionMessage({ value: Buffer.from(JSON.stringify(event)) }, 65_536));

/** The idempotency-key rule on the real stack: same transactionId + same content is a no-op, other content is refused. */
describe('duplicate transaction ids', () => {
  let pipeline: TestPipeline;
  beforeAll(async () => {
    pipeline = await startTestPipeline({
      name: 'duplicates',
      ingest: true,
      env: { HOSTED_ESCALATION_ENABLED: 'false' },
    });
  });
  afterAll(async () => pipeline?.close());

  const decisionsFor = (id: string) => pipeline.decisions.filter((d) => d.transactionId === id);
  const lettersFor = (id: string) =>
    pipeline.deadLetters.map((l) => DeadLetter.parse(l)).filter((l) => l.conflict?.transactionId === id);

  it('an identical redelivery, even with its keys reordered, yields one decision and no dead letter', async () => {
    const event = sampleTransaction();
    const reordered = Object.fromEntries(Object.entries(event).reverse()) as TransactionEventInput;
    const lettersBefore = pipeline.deadLetters.length;
    const duplicatesBefore = pipeline.ingest?.counters.duplicates ?? 0;
    await pipeline.send([{ key: event.transactionId, value: event }]);
    await pipeline.waitForDecisions(pipeline.decisions.length + 1);
    // After the workflow finished, and once more while nothing else is in flight.
    await pipeline.send([{ key: event.transactionId, value: reordered }]);
    await waitFor(() => (pipeline.ingest?.counters.duplicates ?? 0) > duplicatesBefore);
    await new Promise((r) => setTimeout(r, 2000));

    expect(decisionsFor(event.transactionId)).toHaveLength(1);
    expect(pipeline.deadLetters.length).toBe(lettersBefore);
  });

  it('dead-letters every conflicting duplicate with both hashes, running or finished, and decides the first once', async () => {
    const finished = sampleTransaction();
    await pipeline.send([{ key: finished.transactionId, value: finished }]);
    await waitFor(() => decisionsFor(finished.transactionId).length === 1);
    const conflicts: Array<{ first: TransactionEventInput; second: TransactionEventInput }> = [
      { first: finished, second: { ...finished, amount: { minor: 987_600, currency: 'USD' } } },
    ];
    // Sent back to back: the second finds the first's workflow running (or just started).
    for (let i = 0; i < 4; i++) {
      const first = sampleTransaction();
      conflicts.push({ first, second: { ...first, merchant: { ...first.merchant, name: `Other Shop ${i}` } } });
    }
    await pipeline.send(conflicts.slice(1).map((c) => ({ key: c.first.transactionId, value: c.first })));
    await pipeline.send(conflicts.map((c) => ({ key: c.second.transactionId, value: c.second })));
    // In one produce call, so in one fetched batch: the copy must still lose to the event before it in Kafka.
    for (let i = 0; i < 4; i++) {
      const first = sampleTransaction();
      const second = { ...first, merchant: { ...first.merchant, name: `Same Batch Shop ${i}` } };
      conflicts.push({ first, second });
      await pipeline.send([
        { key: first.transactionId, value: first },
        { key: second.transactionId, value: second },
      ]);
    }

    for (const { first, second } of conflicts) {
      await waitFor(() => decisionsFor(first.transactionId).length >= 1 && lettersFor(first.transactionId).length >= 1);
      const [letter] = lettersFor(first.transactionId);
      expect(letter?.reason).toBe('conflicting_duplicate');
      expect(letter?.conflict).toEqual({
        transactionId: first.transactionId,
        workflowId: `score-${first.transactionId}`,
        existingContentHash: hashOf(first),
        receivedContentHash: hashOf(second),
      });
      // The refused event's bytes are kept exactly.
      expect(JSON.parse(Buffer.from(letter?.originalValueBase64 ?? '', 'base64').toString('utf8'))).toEqual(second);
    }
    await new Promise((r) => setTimeout(r, 2000));
    for (const { first } of conflicts) {
      const decisions = decisionsFor(first.transactionId);
      expect(decisions).toHaveLength(1);
      // The workflow (and so the decision) is the first event's.
      const handle = pipeline.client.workflow.getHandle(`score-${first.transactionId}`);
      const described = await handle.describe();
      expect(described.memo?.contentHash).toBe(hashOf(first));
      expect(lettersFor(first.transactionId)).toHaveLength(1);
    }
    expect(pipeline.ingest?.counters.conflictingDuplicates).toBe(conflicts.length);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
