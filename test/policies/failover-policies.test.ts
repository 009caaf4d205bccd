import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/schemas/decision';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, scoreDecision, startTestPipeline } from '../support/pipeline';

const chat = '/v1/chat/completions';

function scorer(pipeline: () => TestPipeline) {
  return async (overrides: Partial<TransactionEventInput> = {}): Promise<Decision> => {
    const p = pipeline();
    const event = TransactionEvent.parse(sampleTransaction({ transactionId: `t-${randomUUID()}`, ...overrides }));
    return scoreDecision(p, event);
  };
}

/** Retry-After, circuit breaking and the local pool, with real Temporal workers and controllable model servers. */
describe('retry and failover policies', () => {
  let local: HostedTestServer;
  let deadLocal: HostedTestServer;
  let providerA: HostedTestServer;
  let providerB: HostedTestServer;
  let pipeline: TestPipeline;
  const score = scorer(() => pipeline);

  beforeAll(async () => {
    [local, deadLocal, providerA, providerB] = await Promise.all([
      startHostedTestServer(),
      startHostedTestServer(),
      startHostedTestServer(),
      startHostedTestServer(),
    ]);
    deadLocal.setBehaviour(() => ({ kind: 'status', status: 503, message: 'server busy' }));
    pipeline = await startTestPipeline({
      name: 'policies',
      env: {
        LOCAL_MODEL_BASE_URLS: `${deadLocal.baseURL},${local.baseURL}`,
        BREAKER_FAILURE_THRESHOLD: '2',
        BREAKER_COOLDOWN_MS: '3000',
        MODEL_RETRY_INITIAL_MS: '100',
        KEY_A: 'a',
        KEY_B: 'b',
      },
      hostedProviders: [
        { name: 'provider-a', baseURL: providerA.baseURL, apiKeyEnv: 'KEY_A', model: 'a', maxAttempts: 3 },
        { name: 'provider-b', baseURL: providerB.baseURL, apiKeyEnv: 'KEY_B', model: 'b', maxAttempts: 1 },
      ],
    });
  });
  afterEach(() => {
    for (const s of [local, providerA, providerB]) s.reset();
  });
  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([local, deadLocal, providerA, providerB].map((s) => s?.close()));
  });

  it('routes around a dead local endpoint once its circuit opens, keeping decisions local', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.05, confidence: 0.95 }));
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await score());
    expect(decisions.map((d) => d.path)).toEqual(['local', 'local', 'local', 'local']);
    // Threshold 2: the dead endpoint is tried at most twice, then skipped while its circuit is open.
    expect(deadLocal.callCount(chat)).toBeLessThanOrEqual(2);
    expect(decisions.every((d) => d.modelCalls[0]?.endpoint === local.baseURL)).toBe(true);
  });

  it("waits the provider's Retry-After before retrying, rather than its own shorter backoff", async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.5, confidence: 0.9 }));
    providerA.setBehaviour((_req, n) =>
      n === 1
        ? { kind: 'status', status: 429, retryAfterSeconds: 2 }
        : { kind: 'answer', riskScore: 0.9, confidence: 0.9 },
    );
    const decision = await score();
    expect(decision).toMatchObject({ path: 'escalated', decision: 'decline' });
    const [first, second] = providerA.requests.filter((r) => r.path === chat).map((r) => r.time);
    expect(second! - first!).toBeGreaterThanOrEqual(1900);
  });

  it('opens the circuit of a failing provider, skips it, then half-opens and probes it after the cooldown', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.5, confidence: 0.9 }));
    providerA.setBehaviour(() => ({ kind: 'status', status: 503 }));
    providerB.setBehaviour(() => ({ kind: 'answer', riskScore: 0.2, confidence: 0.9 }));

    const first = await score();
    // Two transient failures open A's circuit; its third attempt fails fast and the workflow fails over to B.
    expect(providerA.callCount(chat)).toBe(2);
    expect(first.modelCalls.map((c) => c.provider)).toEqual(['local', 'provider-a', 'provider-b']);
    expect(first.modelCalls[1]?.error).toContain('ProviderCircuitOpen');

    const second = await score();
    expect(providerA.callCount(chat)).toBe(2);
    expect(second.modelCalls[1]?.error).toContain('ProviderCircuitOpen');
    expect(second.path).toBe('escalated');

    await new Promise((r) => setTimeout(r, 3100));
    providerA.setBehaviour(() => ({ kind: 'answer', riskScore: 0.9, confidence: 0.9 }));
    const probed = await score();
    expect(providerA.callCount(chat)).toBe(3);
    expect(probed.modelCalls.map((c) => [c.provider, c.outcome])).toEqual([
      ['local', 'ok'],
      ['provider-a', 'ok'],
    ]);
    await score();
    expect(providerA.callCount(chat)).toBe(4);
  });
});

/** The decision deadline and the durable hosted budget. */
describe('deadline and budget policies', () => {
  let local: HostedTestServer;
  let provider: HostedTestServer;
  let pipeline: TestPipeline;
  const score = scorer(() => pipeline);

  beforeAll(async () => {
    [local, provider] = await Promise.all([startHostedTestServer(), startHostedTestServer()]);
    pipeline = await startTestPipeline({
      name: 'deadline-budget',
      env: {
        LOCAL_MODEL_BASE_URL: local.baseURL,
        DECISION_DEADLINE_MS: '2000',
        // A paid call first reserves its ceiling (4,096 prompt tokens at $100 per million: $0.41) against the cap;
        // this cap admits one reservation, and once that call has settled at its ~$0.01, no second one fits.
        HOSTED_DAILY_BUDGET_USD: '0.415',
        KEY_C: 'c',
      },
      // About 100 prompt tokens at $100 per million: one call costs ~$0.01.
      hostedProviders: [
        { name: 'provider-c', baseURL: provider.baseURL, apiKeyEnv: 'KEY_C', model: 'c', inputUsdPerMTok: 100 },
      ],
    });
  });
  afterEach(() => {
    local.reset();
    provider.reset();
  });
  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([local, provider].map((s) => s?.close()));
  });

  it('decides review, and publishes it, when the deadline passes with no usable model answer', async () => {
    local.setBehaviour(() => ({ kind: 'hang' }));
    const started = Date.now();
    const decision = await score();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(decision).toMatchObject({ decision: 'review', path: 'fallback' });
    expect(decision.reasons.join('\n')).toContain('decision deadline of 2s passed');
    expect(provider.callCount(chat)).toBe(0);
    const published = await pipeline.waitForDecisions(1);
    expect(published.map((d) => d.transactionId)).toContain(decision.transactionId);
  });

  it('makes no hosted call once the day’s budget is spent, and decides on local and rules', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.5, confidence: 0.9 }));
    provider.setBehaviour(() => ({ kind: 'answer', riskScore: 0.9, confidence: 0.9 }));
    const spending = await score();
    expect(spending.path).toBe('escalated');
    expect(spending.modelCalls[1]?.costUsd).toBeGreaterThan(0.001);
    expect(provider.callCount(chat)).toBe(1);

    const afterBudget = await score();
    expect(provider.callCount(chat)).toBe(1);
    expect(afterBudget).toMatchObject({ path: 'local', decision: 'review' });
    expect(afterBudget.reasons.join('\n')).toMatch(/hosted budget of \$0.415 for \d{4}-\d{2}-\d{2} is spent/);
  });
});
