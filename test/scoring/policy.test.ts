import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { applyDecisionPolicy, finalOutcome, isAmbiguous, outcomeForScore } from '../../src/scoring/decide';
import { buildScoringMessages } from '../../src/scoring/prompt';
import { redactForHosted } from '../../src/scoring/redaction';
import { evaluateRules } from '../../src/scoring/rules';
import { sampleTransaction, scriptedPolicyFile } from '../support/pipeline';

// Thresholds review 0.4, decline 0.8, escalation band 0.35–0.75, min confidence 0.6.
const { policy } = loadConfig({ SCORING_POLICY_FILE: scriptedPolicyFile });
const event = (o: Parameters<typeof sampleTransaction>[0] = {}) => TransactionEvent.parse(sampleTransaction(o));

describe('rules', () => {
  it('declines blocked countries and amounts over the limit, whatever else the event says', () => {
    const kp = evaluateRules(event({ merchant: { id: 'm', name: 'X', mcc: '5411', country: 'KP' } }), policy.rules);
    expect(kp.map((h) => [h.rule, h.effect])).toContainEqual(['blocked_country', 'decline']);
    const huge = evaluateRules(event({ amount: { minor: 60_000_00, currency: 'USD' } }), policy.rules);
    expect(huge.map((h) => h.rule)).toEqual(['amount_limit']);
  });

  it('reads amounts in the currency’s own minor units (JPY has none)', () => {
    const yen = evaluateRules(event({ amount: { minor: 6_000, currency: 'JPY' } }), policy.rules);
    expect(yen.map((h) => h.rule)).toContain('amount_review');
    const cents = evaluateRules(event({ amount: { minor: 6_000, currency: 'USD' } }), policy.rules);
    expect(cents.map((h) => h.rule)).not.toContain('amount_review');
  });

  it('reviews high card velocity and escalates medium velocity and money transfers', () => {
    expect(evaluateRules(event({ velocity: { cardTxnLastHour: 12 } }), policy.rules).map((h) => h.effect)).toEqual([
      'review',
    ]);
    expect(evaluateRules(event({ velocity: { cardTxnLastHour: 6 } }), policy.rules).map((h) => h.effect)).toEqual([
      'escalate',
    ]);
    const transfer = event({ merchant: { id: 'm', name: 'Wire', mcc: '4829', country: 'US' } });
    expect(evaluateRules(transfer, policy.rules).map((h) => h.rule)).toEqual(['escalate_mcc']);
  });
});

describe('decision policy', () => {
  it('maps scores to outcomes by the thresholds', () => {
    expect(outcomeForScore(0.1, policy)).toBe('approve');
    expect(outcomeForScore(0.5, policy)).toBe('review');
    expect(outcomeForScore(0.85, policy)).toBe('decline');
  });

  it('calls a mid-band score or a low confidence ambiguous', () => {
    expect(isAmbiguous({ riskScore: 0.5, confidence: 0.9, reasons: [] }, policy)).toBe(true);
    expect(isAmbiguous({ riskScore: 0.05, confidence: 0.3, reasons: [] }, policy)).toBe(true);
    expect(isAmbiguous({ riskScore: 0.05, confidence: 0.9, reasons: [] }, policy)).toBe(false);
  });

  it('never lets a model approve what a rule sends to review or declines', () => {
    const review = [{ rule: 'r', effect: 'review' as const, detail: '' }];
    const decline = [{ rule: 'd', effect: 'decline' as const, detail: '' }];
    expect(finalOutcome('approve', review)).toBe('review');
    expect(finalOutcome('decline', review)).toBe('decline');
    expect(finalOutcome('approve', decline)).toBe('decline');
  });
});

describe('data residency', () => {
  const e = event({
    geo: { lat: 40.7, lon: -74, city: 'New York', country: 'US' },
    device: { id: 'dev-1', type: 'mobile' },
  });

  it('removes every personal field of the default policy and keeps the fraud signal', () => {
    const view = JSON.stringify(redactForHosted(e));
    for (const v of [e.cardToken, e.customerId, e.customer?.name, e.customer?.email, e.ipAddress, 'dev-1', '40.7']) {
      expect(view).not.toContain(String(v));
    }
    expect(view).toContain('New York');
    expect(view).toContain('mobile');
  });

  it('follows a configured policy of fields that never leave', () => {
    const view = redactForHosted(e, ['customer', 'cardToken', 'customerId', 'ipAddress', 'geo']);
    expect(view).not.toHaveProperty('geo');
    expect(view).toHaveProperty('device.id', 'dev-1');
    const hosted = buildScoringMessages(e, 'hosted', ['customer', 'geo'])
      .map((m) => m.content)
      .join('\n');
    expect(hosted).not.toContain('New York');
    expect(hosted).toContain(e.merchant.name);
  });

  it('never shows the label to any model', () => {
    const labelled = event({ label: { isFraud: true, pattern: 'card_testing_secret' } });
    for (const audience of ['local', 'hosted'] as const) {
      expect(
        buildScoringMessages(labelled, audience)
          .map((m) => m.content)
          .join(),
      ).not.toContain('card_testing_secret');
    }
  });
});

describe('the decision policy step', () => {
  const answer = (riskScore: number, provider: string, confidence = 0.9) => ({
    assessment: { riskScore, confidence, reasons: [`scored ${riskScore}`] },
    call: { provider },
  });
  const reviewHit = { rule: 'amount_review', effect: 'review' as const, detail: 'large amount' };

  it('declines with risk 1 when a rule settled it, and names the rules as deciding', () => {
    const verdict = applyDecisionPolicy({ policy, ruleHits: [], settledPath: 'rules', local: answer(0.1, 'local') });
    expect(verdict).toMatchObject({ outcome: 'decline', riskScore: 1, path: 'rules', provider: 'rules' });
  });

  it('never approves without a usable answer: review, with the first pass score when there was one', () => {
    const verdict = applyDecisionPolicy({ policy, ruleHits: [], settledPath: 'fallback', local: answer(0.1, 'local') });
    expect(verdict).toMatchObject({ outcome: 'review', riskScore: 0.1, path: 'fallback', provider: 'none' });
    expect(verdict.reasons).toEqual(['no usable model answer: sent to review']);
    expect(applyDecisionPolicy({ policy, ruleHits: [] })).toMatchObject({ outcome: 'review', riskScore: 0.5 });
  });

  it('judges a hosted answer by the hosted cut points, and in raises mode never below the first pass', () => {
    const hosted = answer(policy.hostedDeclineAt, 'frontier');
    const decides = applyDecisionPolicy({ policy, ruleHits: [], local: answer(0.5, 'local'), hosted });
    expect(decides).toMatchObject({ outcome: 'decline', path: 'escalated', provider: 'frontier' });
    const raises = { ...policy, hostedMode: 'raises' as const };
    const cleared = applyDecisionPolicy({
      policy: raises,
      ruleHits: [],
      local: answer(policy.declineAt, 'local'),
      hosted: answer(0, 'frontier'),
    });
    expect(cleared.outcome).toBe('decline');
  });

  it('does not approve an ambiguous first pass alone, and lets rules raise the outcome with a reason', () => {
    const ambiguous = answer(policy.ambiguousLow, 'local', 0.9);
    expect(applyDecisionPolicy({ policy, ruleHits: [], local: ambiguous }).outcome).not.toBe('approve');
    const raised = applyDecisionPolicy({ policy, ruleHits: [reviewHit], local: answer(0.01, 'local') });
    expect(raised).toMatchObject({ outcome: 'review', path: 'local', provider: 'local' });
    expect(raised.reasons).toEqual(['local: scored 0.01', 'rules raised approve to review']);
  });
});
