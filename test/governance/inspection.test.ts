import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporal } from '@temporalio/proto';
import type { Decision } from '../../src/schemas/decision';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import type { TransactionEventInput } from '../../src/schemas/transaction-event';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, scoreDecision, startTestPipeline } from '../support/pipeline';

/** What an analyst and a compliance officer see: search attributes, encrypted history, the codec server. */
describe('inspection and governance', () => {
  let local: HostedTestServer;
  let frontier: HostedTestServer;
  let pipeline: TestPipeline;
  const personal = {
    cardToken: `tok_${randomUUID().slice(0, 12)}`,
    customerId: `cus_${randomUUID().slice(0, 12)}`,
    customer: {
      name: 'Zelda Quarterfield',
      email: 'zelda.q@example.net',
      phone: '+1-555-0199',
      address: '77 Hidden Lane',
    },
    ipAddress: '198.51.100.23',
  };

  beforeAll(async () => {
    [local, frontier] = await Promise.all([startHostedTestServer(), startHostedTestServer()]);
    // Score from the merchant name, so one pipeline can produce approvals, escalated declines and reviews.
    local.setBehaviour((req) =>
      req.lastUserText.includes('Ambiguous')
        ? { kind: 'answer', riskScore: 0.6, confidence: 0.9 }
        : { kind: 'answer', riskScore: 0.05, confidence: 0.95 },
    );
    frontier.setBehaviour((req) =>
      req.lastUserText.includes('Fraudy')
        ? { kind: 'answer', riskScore: 0.95, confidence: 0.9 }
        : { kind: 'answer', riskScore: 0.5, confidence: 0.9 },
    );
    pipeline = await startTestPipeline({
      name: 'inspection',
      env: { LOCAL_MODEL_BASE_URL: local.baseURL, FRONTIER_KEY: 'f' },
      hostedProviders: [
        {
          name: 'frontier',
          baseURL: frontier.baseURL,
          apiKeyEnv: 'FRONTIER_KEY',
          model: 'frontier-1',
          inputUsdPerMTok: 1,
        },
      ],
    });
  });
  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([local, frontier].map((s) => s?.close()));
  });

  async function score(overrides: Partial<TransactionEventInput>): Promise<Decision> {
    const event = TransactionEvent.parse(
      sampleTransaction({ transactionId: `t-${randomUUID()}`, ...personal, ...overrides }),
    );
    return scoreDecision(pipeline, event);
  }
  const merchant = (name: string) => ({ id: `m-${name}`, name, mcc: '5732', category: 'electronics', country: 'US' });

  it('lists exactly the escalated declines above a score with one visibility query', async () => {
    const approved = await score({ merchant: merchant('Plain Shop') });
    const escalatedDecline = await score({
      merchant: merchant('Ambiguous Fraudy Store'),
      amount: { minor: 120_000, currency: 'USD' },
    });
    const escalatedReview = await score({ merchant: merchant('Ambiguous Corner') });
    expect([approved.decision, escalatedDecline.decision, escalatedReview.decision]).toEqual([
      'approve',
      'decline',
      'review',
    ]);

    const query =
      `TaskQueue = '${pipeline.settings.taskQueues.orchestration}' AND FraudEscalated = true ` +
      `AND FraudDecision = 'decline' AND FraudRiskScore >= 0.9`;
    let ids: string[] = [];
    // Visibility is eventually consistent: poll until the upserted attributes are indexed.
    for (let i = 0; i < 50; i++) {
      ids = [];
      for await (const wf of pipeline.client.workflow.list({ query })) ids.push(wf.workflowId);
      if (ids.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(ids).toEqual([escalatedDecline.workflowId]);

    const described = await pipeline.client.workflow.getHandle(escalatedDecline.workflowId).describe();
    const attrs = Object.fromEntries(described.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
    expect(attrs).toMatchObject({
      FraudDecision: 'decline',
      FraudEscalated: true,
      FraudScoringPath: 'escalated',
      FraudProvider: 'frontier',
      FraudMerchantCategory: '5732',
      FraudAmount: 1200,
    });
  });

  it('keeps personal data out of the raw history: payloads are ciphertext, and the codec server decrypts them', async () => {
    const decision = await score({ merchant: merchant('Ambiguous Corner') });
    const res = await pipeline.client.workflowService.getWorkflowExecutionHistory({
      namespace: pipeline.config.temporal.namespace,
      execution: { workflowId: decision.workflowId },
    });
    const raw = Buffer.from(temporal.api.history.v1.History.encode(res.history ?? {}).finish()).toString('latin1');
    for (const value of [
      personal.cardToken,
      personal.customerId,
      personal.customer.name,
      personal.customer.email,
      personal.customer.phone,
      personal.ipAddress,
    ]) {
      expect(raw).not.toContain(value);
    }
    expect(raw).toContain('binary/encrypted');

    // The stack's codec server (the one the Temporal UI uses) turns the workflow input back into the event.
    const started = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const toJson = (p: temporal.api.common.v1.IPayload) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    });
    const decoded = await fetch(`${pipeline.config.codec.serverUrl}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: pipeline.config.temporal.uiUrl },
      body: JSON.stringify({ payloads: [toJson(started!)] }),
    });
    expect(decoded.status).toBe(200);
    expect(decoded.headers.get('access-control-allow-origin')).toBe(pipeline.config.temporal.uiUrl);
    const body = (await decoded.json()) as { payloads: Array<{ data: string }> };
    const input = JSON.parse(Buffer.from(body.payloads[0]!.data, 'base64').toString('utf8')) as {
      event: { cardToken: string };
    };
    expect(input.event.cardToken).toBe(personal.cardToken);
  });

  it('reads like a case file: timeline in the current details and a status query', async () => {
    // A card of its own: the other tests' history on the shared card would add a velocity rule to the timeline.
    const decision = await score({
      merchant: merchant('Ambiguous Fraudy Store'),
      cardToken: `tok_${randomUUID().slice(0, 12)}`,
    });
    const handle = pipeline.client.workflow.getHandle(decision.workflowId);
    const status = await handle.query<{ stage: string; timeline: string[] }>('status');
    expect(status.stage).toBe('done');
    expect(status.timeline.join(' → ')).toBe('local: 0.60 (confidence 0.90) → escalate → frontier: 0.95 → DECLINE');
    const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toBe(status.timeline.join(' → '));
  });
});
