import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, scoreDecision, startTestPipeline } from '../support/pipeline';

/** What a decision records about a hosted call that failed: the provider and the model it was configured with. */
describe('a failed hosted call', () => {
  let local: HostedTestServer;
  let failing: HostedTestServer;
  let answering: HostedTestServer;
  let pipeline: TestPipeline;

  beforeAll(async () => {
    local = await startHostedTestServer();
    failing = await startHostedTestServer();
    answering = await startHostedTestServer();
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.1, confidence: 0.9 }));
    failing.setBehaviour(() => ({ kind: 'status', status: 400, message: 'context length exceeded' }));
    answering.setBehaviour(() => ({ kind: 'answer', riskScore: 0.2, confidence: 0.9 }));
    pipeline = await startTestPipeline({
      name: 'hosted-failure',
      env: { LOCAL_MODEL_BASE_URL: local.baseURL, FAILURE_KEY: 'k', RULE_ESCALATE_MCCS: '4829' },
      hostedProviders: [
        { name: 'failing-provider', baseURL: failing.baseURL, apiKeyEnv: 'FAILURE_KEY', model: 'frontier-large' },
        { name: 'answering-provider', baseURL: answering.baseURL, apiKeyEnv: 'FAILURE_KEY', model: 'frontier-small' },
      ],
    });
  });
  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([local, failing, answering].map((s) => s?.close()));
  });

  it("records the provider's configured model, not the provider name, as the model", async () => {
    const event = TransactionEvent.parse(
      sampleTransaction({
        transactionId: `t-${randomUUID()}`,
        merchant: { id: 'm-wire', name: 'Wire Desk', mcc: '4829', country: 'US' },
      }),
    );
    const decision = await scoreDecision(pipeline, event);
    const calls = decision.modelCalls.filter((c) => c.tier === 'hosted');
    expect(calls.map((c) => ({ provider: c.provider, model: c.model, outcome: c.outcome }))).toEqual([
      { provider: 'failing-provider', model: 'frontier-large', outcome: 'error' },
      { provider: 'answering-provider', model: 'frontier-small', outcome: 'ok' },
    ]);
    expect(failing.callCount('/v1/chat/completions')).toBe(1);
  });
});
