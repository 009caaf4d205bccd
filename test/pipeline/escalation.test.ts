import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/schemas/decision';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, scoreDecision, startTestPipeline } from '../support/pipeline';

/**
 * Escalation, rules and malformed output, with deterministic OpenAI-compatible servers standing in for the local
 * model and two hosted providers so every score is controlled. Temporal, Kafka and the workers are real.
 */
describe('escalation and decision policy', () => {
  let local: HostedTestServer;
  let providerA: HostedTestServer;
  let providerB: HostedTestServer;
  let pipeline: TestPipeline;

  beforeAll(async () => {
    local = await startHostedTestServer();
    providerA = await startHostedTestServer({ apiKey: 'key-a' });
    providerB = await startHostedTestServer({ apiKey: 'key-b' });
    pipeline = await startTestPipeline({
      name: 'escalation',
      env: {
        LOCAL_MODEL_BASE_URL: local.baseURL,
        PROVIDER_A_KEY: 'key-a',
        PROVIDER_B_KEY: 'key-b',
        LOCAL_MODEL_MAX_ATTEMPTS: '3',
      },
      hostedProviders: [
        {
          name: 'provider-a',
          baseURL: providerA.baseURL,
          apiKeyEnv: 'PROVIDER_A_KEY',
          model: 'frontier-a',
          inputUsdPerMTok: 3,
          outputUsdPerMTok: 15,
        },
        {
          name: 'provider-b',
          baseURL: providerB.baseURL,
          apiKeyEnv: 'PROVIDER_B_KEY',
          model: 'frontier-b',
          inputUsdPerMTok: 1,
          outputUsdPerMTok: 4,
        },
      ],
    });
  });
  afterEach(() => {
    local.reset();
    providerA.reset();
    providerB.reset();
  });
  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([local, providerA, providerB].map((s) => s?.close()));
  });

  async function score(overrides: Partial<TransactionEventInput> = {}): Promise<Decision> {
    const event = TransactionEvent.parse(sampleTransaction({ transactionId: `t-${randomUUID()}`, ...overrides }));
    return scoreDecision(pipeline, event);
  }

  it('acts on a confident local answer without escalating', async () => {
    local.setBehaviour(() => ({
      kind: 'answer',
      riskScore: 0.05,
      confidence: 0.9,
      reasons: ['ordinary grocery purchase'],
    }));
    const decision = await score();
    expect(decision).toMatchObject({ decision: 'approve', path: 'local', riskScore: 0.05 });
    expect(providerA.callCount('/v1/chat/completions')).toBe(0);
  });

  it('escalates an ambiguous local score to the first hosted provider, whose score decides', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.55, confidence: 0.9 }));
    providerA.setBehaviour(() => ({
      kind: 'answer',
      riskScore: 0.93,
      confidence: 0.95,
      reasons: ['foreign high-value'],
    }));
    const decision = await score();
    expect(decision).toMatchObject({ decision: 'decline', path: 'escalated', riskScore: 0.93 });
    expect(decision.modelCalls.map((c) => [c.provider, c.outcome])).toEqual([
      ['local', 'ok'],
      ['provider-a', 'ok'],
    ]);
    const hostedCall = decision.modelCalls[1];
    expect(hostedCall?.costUsd).toBeCloseTo(
      ((hostedCall?.inputTokens ?? 0) * 3 + (hostedCall?.outputTokens ?? 0) * 15) / 1e6,
      12,
    );
    expect(providerB.callCount('/v1/chat/completions')).toBe(0);
  });

  it('escalates a low-confidence local answer even when its score is clear', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.1, confidence: 0.2 }));
    providerA.setBehaviour(() => ({ kind: 'answer', riskScore: 0.2, confidence: 0.9 }));
    const decision = await score();
    expect(decision).toMatchObject({ decision: 'approve', path: 'escalated' });
  });

  it('lets a declining rule outrank an approving model, asking no model at all', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.01, confidence: 0.99 }));
    const decision = await score({ merchant: { id: 'm-kp', name: 'Blocked Traders', mcc: '5999', country: 'KP' } });
    expect(decision).toMatchObject({ decision: 'decline', path: 'rules' });
    expect(decision.ruleHits.map((h) => h.rule)).toContain('blocked_country');
    expect(decision.modelCalls).toEqual([]);
    expect(local.callCount('/v1/chat/completions')).toBe(0);
  });

  it('floors a model approval at review when a review rule fires', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.02, confidence: 0.99 }));
    const decision = await score({ amount: { minor: 7_500_00, currency: 'USD' } });
    expect(decision).toMatchObject({ decision: 'review', path: 'local', riskScore: 0.02 });
    expect(decision.reasons.join('\n')).toContain('rules raised approve to review');
  });

  it('retries malformed local output up to its attempt limit, then escalates', async () => {
    local.setBehaviour((_req, n) =>
      n % 2 ? { kind: 'raw', content: 'I think it is fine' } : { kind: 'raw', content: '{"riskScore": 7}' },
    );
    providerA.setBehaviour(() => ({ kind: 'answer', riskScore: 0.3, confidence: 0.9 }));
    const decision = await score();
    expect(local.callCount('/v1/chat/completions')).toBe(3);
    expect(decision.modelCalls[0]).toMatchObject({ provider: 'local', outcome: 'invalid_output' });
    expect(decision).toMatchObject({ path: 'escalated', decision: 'approve' });
  });

  it('fails over to the next provider at once when one rejects the request as non-retryable', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.5, confidence: 0.9 }));
    providerA.setBehaviour(() => ({ kind: 'status', status: 400, message: 'context length exceeded' }));
    providerB.setBehaviour(() => ({ kind: 'answer', riskScore: 0.85, confidence: 0.9 }));
    const decision = await score();
    expect(providerA.callCount('/v1/chat/completions')).toBe(1);
    expect(decision.modelCalls.map((c) => [c.provider, c.outcome])).toEqual([
      ['local', 'ok'],
      ['provider-a', 'error'],
      ['provider-b', 'ok'],
    ]);
    expect(decision).toMatchObject({ decision: 'decline', path: 'escalated' });
  });

  it('sends to review with a reason when no model gives a usable answer', async () => {
    local.setBehaviour(() => ({ kind: 'raw', content: 'nope' }));
    providerA.setBehaviour(() => ({ kind: 'status', status: 401 }));
    providerB.setBehaviour(() => ({ kind: 'status', status: 403 }));
    const decision = await score();
    expect(decision).toMatchObject({ decision: 'review', path: 'fallback' });
    expect(decision.reasons.join('\n')).toContain('no usable model answer');
  });

  it('never sends card token, names, e-mail, phone or IP to a hosted provider', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.5, confidence: 0.5 }));
    providerA.setBehaviour(() => ({ kind: 'answer', riskScore: 0.5, confidence: 0.9 }));
    const event = sampleTransaction();
    await score(event);
    const sent = JSON.stringify(providerA.requests.map((r) => r.body));
    expect(sent).toContain(event.merchant.name);
    for (const secret of [
      event.cardToken,
      event.customerId,
      event.customer?.name,
      event.customer?.email,
      event.customer?.phone,
      event.ipAddress,
    ]) {
      expect(sent).not.toContain(secret);
    }
  });
});
