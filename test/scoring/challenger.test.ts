/**
 * A challenger in shadow goes through the champion's decision policy (src/scoring/challenger.ts): the same evidence
 * under equal policies gives the champion's outcome; under its own thresholds it gets its own review band and
 * escalation; a hosted answer is reused, never asked for.
 */
import { describe, expect, it } from 'vitest';
import type { ScoringPolicy } from '../../src/config';
import type { DecisionOutcome, ModelCall, RuleHit, ScoringPath } from '../../src/schemas/decision';
import { decideAsChallenger, hostedAnswerOf } from '../../src/scoring/challenger';
import type { ChallengerEvidence } from '../../src/scoring/challenger';
import { applyDecisionPolicy, finalOutcome, outcomeForScore } from '../../src/scoring/decide';
import type { ModelAnswer } from '../../src/scoring/decide';
import { policyWithThresholds } from '../../src/scoring/policy-file';
import type { ScoringPolicyFile } from '../../src/scoring/policy-file';

// Review from 0.4, decline from 0.8; first passes in 0.55–0.7 or below 0.5 confidence escalate.
const policy: ScoringPolicy = {
  approveBelow: 0.4,
  declineAt: 0.8,
  ambiguousLow: 0.55,
  ambiguousHigh: 0.7,
  minConfidence: 0.5,
  hostedReviewAt: 0.5,
  hostedDeclineAt: 0.8,
  hostedMode: 'decides',
  escalationEnabled: true,
  rules: {
    reviewAmount: 5000,
    declineAmount: 50000,
    blockedCountries: ['KP'],
    blockedMccs: [],
    reviewMccs: [],
    escalateMccs: ['4829'],
    velocityReviewPerHour: 10,
    velocityEscalatePerHour: 5,
    cardTestingMaxAmountUsd: 2,
    cardTestingCount: 3,
    impossibleTravelMinKm: 500,
    impossibleTravelKmh: 900,
  },
};

const answer = (riskScore: number, provider: string, confidence = 0.9): ModelAnswer => ({
  assessment: { riskScore, confidence, reasons: [] },
  call: { provider },
});
const local = (riskScore: number, confidence?: number) => answer(riskScore, 'local', confidence);
const hosted = (riskScore: number) => answer(riskScore, 'frontier');
const hit = (effect: RuleHit['effect']): RuleHit => ({ rule: `rule_${effect}`, effect, detail: effect });

interface Case {
  name: string;
  policy?: ScoringPolicy;
  local: ModelAnswer;
  ruleHits?: RuleHit[];
  /** The champion's hosted answer: present when the workflow escalated and got one. */
  hosted?: ModelAnswer;
  /** What the champion's workflow settled before the policy step (a rule). */
  settledPath?: ScoringPath;
}

/** Each case as the scoring workflow gathered its evidence: what it passed to applyDecisionPolicy. */
const cases: Case[] = [
  { name: 'clear approve', local: local(0.1) },
  { name: 'review band, not ambiguous', local: local(0.45) },
  { name: 'decline', local: local(0.9) },
  { name: 'ambiguous, the hosted answer declines', local: local(0.6), hosted: hosted(0.9) },
  { name: 'ambiguous, the hosted answer clears', local: local(0.6), hosted: hosted(0.1) },
  { name: 'low confidence, the hosted answer reviews', local: local(0.2, 0.3), hosted: hosted(0.6) },
  {
    name: 'an escalate rule on a clear first pass',
    local: local(0.1),
    ruleHits: [hit('escalate')],
    hosted: hosted(0.85),
  },
  {
    name: 'ambiguous below the review band, escalation off',
    policy: { ...policy, escalationEnabled: false, ambiguousLow: 0.3 },
    local: local(0.35),
  },
  {
    name: 'ambiguous in raises mode, the hosted answer raises',
    policy: { ...policy, hostedMode: 'raises' },
    local: local(0.6),
    hosted: hosted(0.9),
  },
  {
    name: 'ambiguous in raises mode, the hosted answer cannot clear',
    policy: { ...policy, hostedMode: 'raises' },
    local: local(0.6),
    hosted: hosted(0.05),
  },
  { name: 'a review rule over a clear first pass', local: local(0.05), ruleHits: [hit('review')] },
  { name: 'a decline rule', local: local(0.05), ruleHits: [hit('decline')], settledPath: 'rules' },
  { name: 'an allow rule', local: local(0.75), ruleHits: [hit('allow')], settledPath: 'rules' },
];

function championOf(c: Case): { outcome: DecisionOutcome; path: ScoringPath } {
  const verdict = applyDecisionPolicy({
    policy: c.policy ?? policy,
    ruleHits: c.ruleHits ?? [],
    local: c.local,
    hosted: c.hosted,
    settledPath: c.settledPath,
  });
  return { outcome: verdict.outcome, path: verdict.path };
}

function challengerOf(c: Case, over: Partial<ChallengerEvidence> = {}) {
  const champion = championOf(c);
  return decideAsChallenger({
    policy: c.policy ?? policy,
    hostedChain: true,
    local: c.local,
    champion: { decision: champion.outcome, ruleHits: c.ruleHits ?? [], hosted: c.hosted },
    ...over,
  });
}

describe('a challenger with the champion’s policy', () => {
  it.each(cases)('decides as the champion did: $name', (c) => {
    const champion = championOf(c);
    const challenger = challengerOf(c);
    expect({ outcome: challenger.outcome, path: challenger.path }).toEqual(champion);
    expect(challenger.agrees).toBe(true);
    expect(challenger.reusedHostedAnswer).toBe(c.hosted !== undefined);
  });

  it('agrees where the first pass alone on its thresholds (the earlier shadow outcome) did not', () => {
    // The ones the policy step decides differently from thresholds plus the rules' floor: escalations, raises
    // mode, an ambiguous first pass that could not be escalated.
    const differ = cases.filter((c) => {
      const firstPassAlone = finalOutcome(
        outcomeForScore(c.local.assessment.riskScore, c.policy ?? policy),
        c.ruleHits ?? [],
      );
      return firstPassAlone !== championOf(c).outcome;
    });
    expect(differ.map((c) => c.name)).toEqual([
      'ambiguous, the hosted answer declines',
      'ambiguous, the hosted answer clears',
      'low confidence, the hosted answer reviews',
      'an escalate rule on a clear first pass',
      'ambiguous below the review band, escalation off',
      'ambiguous in raises mode, the hosted answer raises',
      'an allow rule',
    ]);
    for (const c of differ) expect(challengerOf(c).outcome).toBe(championOf(c).outcome);
  });
});

describe('a challenger under its own thresholds', () => {
  it('has its own review band: a first pass the champion approves, a stricter challenger reviews', () => {
    const c: Case = { name: 'approved by the champion', local: local(0.3) };
    const stricter = { ...policy, approveBelow: 0.2 };
    const verdict = challengerOf(c, { policy: stricter });
    expect(championOf(c).outcome).toBe('approve');
    expect(verdict).toMatchObject({ outcome: 'review', path: 'local', wouldEscalate: false, agrees: false });
  });

  it("reuses the champion's hosted answer where both escalate, judged by the challenger's hosted cut points", () => {
    const c: Case = { name: 'both escalate', local: local(0.6), hosted: hosted(0.65) };
    expect(championOf(c)).toEqual({ outcome: 'review', path: 'escalated' });
    const verdict = challengerOf(c, { policy: { ...policy, hostedDeclineAt: 0.6 } });
    expect(verdict).toMatchObject({
      outcome: 'decline',
      path: 'escalated',
      riskScore: 0.65,
      wouldEscalate: true,
      reusedHostedAnswer: true,
      agrees: false,
    });
  });

  it('records an escalation with no hosted answer to reuse, and takes the policy’s un-escalated outcome', () => {
    // The champion's band is 0.55–0.7: 0.3 it approved alone. The challenger's band takes in 0.3.
    const c: Case = { name: 'only the challenger escalates', local: local(0.3) };
    const wider = { ...policy, ambiguousLow: 0.25 };
    const verdict = challengerOf(c, { policy: wider });
    expect(championOf(c)).toEqual({ outcome: 'approve', path: 'local' });
    // applyDecisionPolicy with no hosted answer: path local, and an ambiguous first pass is never approved alone.
    expect(verdict).toMatchObject({
      outcome: 'review',
      path: 'local',
      riskScore: 0.3,
      wouldEscalate: true,
      reusedHostedAnswer: false,
      agrees: false,
    });
  });

  it("leaves the champion's hosted answer alone where its own policy would not escalate", () => {
    const c: Case = { name: 'only the champion escalates', local: local(0.6), hosted: hosted(0.95) };
    const narrower = { ...policy, ambiguousLow: 0.65 };
    expect(championOf(c).outcome).toBe('decline');
    expect(challengerOf(c, { policy: narrower })).toMatchObject({
      outcome: 'review',
      path: 'local',
      wouldEscalate: false,
      reusedHostedAnswer: false,
    });
  });

  it('does not escalate with escalation off or no hosted provider named', () => {
    const c: Case = { name: 'ambiguous', local: local(0.6), hosted: hosted(0.95) };
    expect(challengerOf(c, { hostedChain: false })).toMatchObject({ path: 'local', wouldEscalate: false });
    const off = { ...policy, escalationEnabled: false };
    expect(challengerOf(c, { policy: off })).toMatchObject({ outcome: 'review', wouldEscalate: false });
  });

  it('goes to fallback review without a first pass of its own and no hosted answer', () => {
    const verdict = decideAsChallenger({
      policy,
      hostedChain: true,
      champion: { decision: 'approve', ruleHits: [] },
    });
    expect(verdict).toMatchObject({ outcome: 'review', path: 'fallback', wouldEscalate: true, agrees: false });
  });

  it("applies the policy file's thresholds over the champion's settings policy, keeping its switches and rules", () => {
    const file = {
      thresholds: {
        reviewAt: 0.2,
        declineAt: 0.6,
        escalation: null,
        minConfidence: 0,
        hosted: { reviewAt: 0.4, declineAt: 0.7, mode: 'raises' },
      },
    } as unknown as ScoringPolicyFile;
    const mixed = policyWithThresholds({ ...policy, escalationEnabled: false }, file);
    expect(mixed).toMatchObject({
      approveBelow: 0.2,
      declineAt: 0.6,
      ambiguousLow: 1,
      ambiguousHigh: 0,
      hostedReviewAt: 0.4,
      hostedMode: 'raises',
      escalationEnabled: false,
    });
    expect(mixed.rules).toEqual(policy.rules);
  });
});

describe("the champion's hosted answer from its model calls", () => {
  const call = (tier: ModelCall['tier'], outcome: ModelCall['outcome'], riskScore?: number): ModelCall => ({
    provider: tier === 'local' ? 'local' : `p-${outcome}`,
    model: 'm',
    tier,
    outcome,
    latencyMs: 1,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    ...(riskScore === undefined ? {} : { riskScore, confidence: 0.8 }),
  });

  it('is the hosted call that answered, after a failover', () => {
    const calls = [call('local', 'ok', 0.6), call('hosted', 'error'), call('hosted', 'ok', 0.9)];
    expect(hostedAnswerOf(calls)).toEqual({
      assessment: { riskScore: 0.9, confidence: 0.8, reasons: [] },
      call: { provider: 'p-ok' },
    });
  });

  it('is absent when no hosted call answered', () => {
    expect(hostedAnswerOf([call('local', 'ok', 0.6), call('hosted', 'error')])).toBeUndefined();
    expect(hostedAnswerOf([call('local', 'ok', 0.6)])).toBeUndefined();
  });
});
