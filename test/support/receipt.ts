import { expect } from 'vitest';
import type { Decision, ScoringReceipt } from '../../src/schemas/decision';
import { ScoringReceipt as ReceiptSchema } from '../../src/schemas/decision';

/**
 * The scoring workflow's result is a receipt of the decision it published: the decision's headline and where it
 * went, never the decision's bulk (features, model calls) a second time in history.
 */
export function expectReceiptOf(receipt: unknown, decision: Decision, topic?: string): ScoringReceipt {
  const parsed = ReceiptSchema.parse(receipt);
  const { transactionId, riskScore, path, reasons, policyHash, decidedAt } = decision;
  expect(parsed).toMatchObject({
    transactionId,
    decision: decision.decision,
    riskScore,
    path,
    reasons,
    policyHash,
    decidedAt,
  });
  if (topic) expect(parsed.published?.topic).toBe(topic);
  expect(parsed.published?.offset).toMatch(/^\d+$/);
  expect(receipt).not.toHaveProperty('features');
  expect(receipt).not.toHaveProperty('modelCalls');
  return parsed;
}
