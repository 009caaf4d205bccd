import { expect } from 'vitest';
import type { Decision, ScoringReceipt } from '../../src/schemas/decision';
import { receiptMismatch } from './receipt-check';

/** Asserts `receipt` is the scoring workflow's receipt of `decision` (see receipt-check.ts). */
export function expectReceiptOf(receipt: unknown, decision: Decision, topic?: string): ScoringReceipt {
  expect(receiptMismatch(receipt, decision, topic)).toBeUndefined();
  return receipt as ScoringReceipt;
}
