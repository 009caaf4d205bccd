/**
 * The scoring workflow's result is a receipt of the decision it published: the decision's headline and where it
 * went, never the decision's bulk (features, model calls) a second time in history. Plain code, no test runner:
 * the history recorder uses it too.
 */
import type { Decision } from '../../src/schemas/decision';
import { ScoringReceipt } from '../../src/schemas/decision';

/** What is wrong with `receipt` as the receipt of `decision` published to `topic`; undefined when nothing is. */
export function receiptMismatch(receipt: unknown, decision: Decision, topic?: string): string | undefined {
  const parsed = ScoringReceipt.safeParse(receipt);
  if (!parsed.success) return `is not a ScoringReceipt: ${parsed.error.message}`;
  const r = parsed.data;
  const fields = ['transactionId', 'decision', 'riskScore', 'path', 'policyHash', 'decidedAt'] as const;
  const differing: string[] = fields.filter((f) => r[f] !== decision[f]);
  if (JSON.stringify(r.reasons) !== JSON.stringify(decision.reasons)) differing.push('reasons');
  if (differing.length > 0) return `differs from the published decision in ${differing.join(', ')}`;
  if (topic !== undefined && r.published?.topic !== topic) return `names topic ${r.published?.topic}, not ${topic}`;
  if (!/^\d+$/.test(r.published?.offset ?? '')) return 'has no published offset';
  for (const bulk of ['features', 'modelCalls'])
    if (receipt !== null && typeof receipt === 'object' && bulk in receipt) return `carries the decision's ${bulk}`;
  return undefined;
}
