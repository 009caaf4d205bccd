import { describe, expect, it } from 'vitest';
import type { OutcomeRecord } from '../../src/outcomes/outcome-record';
import {
  applyDecision,
  applyLabel,
  countedCell,
  labelPrecedence,
  summarizeDecision,
} from '../../src/outcomes/outcome-record';
import { readLabelMessage } from '../../src/outcomes/label-messages';
import type { Decision } from '../../src/schemas/decision';
import type { Label } from '../../src/schemas/label';
import { minimalDecision } from '../support/decision-fixture';

const label = (over: Partial<Label> = {}): Label => ({
  schemaVersion: 1,
  transactionId: 't1',
  outcome: 'fraud',
  source: 'analyst',
  reportedAt: '2026-12-01T12:00:00Z',
  ...over,
});

function decision(over: Partial<Decision> = {}): Decision {
  return minimalDecision({
    modelCalls: [
      {
        provider: 'ollama',
        model: 'm',
        modelDigest: 'sha256:abc',
        tier: 'local',
        outcome: 'ok',
        latencyMs: 10,
        inputTokens: 1,
        outputTokens: 1,
        costUsd: 0,
        riskScore: 0.07,
      },
    ],
    decidedAt: '2026-12-01T10:00:00Z',
    runId: 'r',
    policyHash: 'p1',
    promptVersion: 'v1',
    ...over,
  });
}

const empty: OutcomeRecord = {};

describe('label precedence', () => {
  it('chargeback beats analyst beats customer, whatever the time', () => {
    const early = '2026-12-01T00:00:00Z';
    const late = '2026-12-09T00:00:00Z';
    expect(
      labelPrecedence(label({ source: 'chargeback', reportedAt: early }), label({ reportedAt: late })),
    ).toBeGreaterThan(0);
    expect(labelPrecedence(label({ source: 'customer', reportedAt: late }), label({ reportedAt: early }))).toBeLessThan(
      0,
    );
  });

  it('within a source the later report wins', () => {
    expect(labelPrecedence(label({ reportedAt: '2026-12-02T00:00:00Z' }), label())).toBeGreaterThan(0);
  });
});

describe('applying labels', () => {
  it('keeps the first label, and calls an identical one a duplicate that changes nothing', () => {
    const first = applyLabel(empty, label());
    expect(first.effect).toBe('first');
    const again = applyLabel(first.record, label({ reasonCode: 'other text' }));
    expect(again).toEqual({ record: first.record, effect: 'duplicate', conflict: false });
  });

  it('a conflicting chargeback replaces an analyst verdict and counts as a conflict', () => {
    const held = applyLabel(empty, label({ outcome: 'legitimate' })).record;
    const result = applyLabel(held, label({ source: 'chargeback', outcome: 'fraud' }));
    expect(result.effect).toBe('replaced');
    expect(result.conflict).toBe(true);
    expect(result.record.label?.source).toBe('chargeback');
  });

  it("a customer's later claim does not overturn an analyst's verdict, and is counted as a conflict", () => {
    const held = applyLabel(empty, label({ outcome: 'fraud' })).record;
    const result = applyLabel(
      held,
      label({ source: 'customer', outcome: 'legitimate', reportedAt: '2026-12-05T00:00:00Z' }),
    );
    expect(result.effect).toBe('kept');
    expect(result.conflict).toBe(true);
    expect(result.record).toBe(held);
  });
});

describe('applying decisions', () => {
  it('summarises the policy and model versions, the first-pass probability and the cost', () => {
    const s = summarizeDecision(decision());
    expect(s).toMatchObject({
      policyHash: 'p1',
      models: ['m@sha256:abc'],
      policyDecision: 'approve',
      finalDecision: 'approve',
      firstPassProbability: 0.07,
      path: 'local',
      costUsd: 0,
    });
  });

  it("counts a reviewed transaction as the policy's review, provisional first or final (with its case) alone", () => {
    const provisional = summarizeDecision(decision({ decision: 'review', stage: 'provisional' }));
    expect(provisional.policyDecision).toBe('review');
    expect(provisional.finalDecision).toBeUndefined();
    const resolved = {
      resolvedBy: 'analyst' as const,
      verdict: 'fraud' as const,
      openedAt: '2026-12-01T10:00:00Z',
      resolvedAt: '2026-12-01T11:00:00Z',
    };
    const final = summarizeDecision(decision({ decision: 'decline', stage: 'final', case: resolved }));
    expect(final.policyDecision).toBe('review');
    const joined = applyDecision(applyDecision(empty, provisional), final);
    expect(joined.decision).toMatchObject({ policyDecision: 'review', finalDecision: 'decline', case: resolved });
    expect(applyDecision(empty, final).decision?.policyDecision).toBe('review');
  });

  it('a redelivered decision changes nothing', () => {
    const once = applyDecision(empty, summarizeDecision(decision()));
    expect(applyDecision(once, summarizeDecision(decision({ decidedAt: '2026-12-03T00:00:00Z' })))).toEqual(once);
  });
});

describe('the counted cell', () => {
  it('exists only with both a decision and a label, with the label delay from decidedAt', () => {
    const withDecision = applyDecision(empty, summarizeDecision(decision({ decision: 'decline' })));
    expect(countedCell(withDecision)).toBeUndefined();
    expect(countedCell(applyLabel(empty, label()).record)).toBeUndefined();
    const joined = applyLabel(withDecision, label()).record;
    expect(countedCell(joined)).toEqual({
      policyHash: 'p1',
      decidedAtMs: Date.parse('2026-12-01T10:00:00Z'),
      policyDecision: 'decline',
      outcome: 'fraud',
      source: 'analyst',
      labelDelaySeconds: 7200,
    });
  });
});

describe('label messages', () => {
  const message = (value: string | null) => ({ value: value === null ? null : Buffer.from(value) });

  it('reads a valid label', () => {
    expect(readLabelMessage(message(JSON.stringify(label())))).toEqual({ label: label() });
  });

  it('explains each refusal: empty, not JSON, wrong shape, oversized', () => {
    expect(readLabelMessage(message(null))).toMatchObject({ refusal: { reason: 'invalid_json' } });
    expect(readLabelMessage(message('{oops'))).toMatchObject({ refusal: { reason: 'invalid_json' } });
    const wrong = readLabelMessage(message(JSON.stringify({ ...label(), outcome: 'maybe' })));
    expect(wrong).toMatchObject({ refusal: { reason: 'schema_violation' } });
    expect('refusal' in wrong && wrong.refusal.detail).toContain('outcome');
    expect(readLabelMessage(message('x'.repeat(100)), 50)).toMatchObject({ refusal: { reason: 'oversized' } });
  });
});
