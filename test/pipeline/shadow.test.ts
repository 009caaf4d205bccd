/**
 * A challenger scored in shadow on live traffic (real stack): its answers, through the champion's decision policy
 * under its own thresholds, are recorded on the workflow's decision and in metrics; neither a working nor a failing
 * challenger changes or holds back a published decision, and shadow never calls a hosted model.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shadow } from '../../src/models/assignment';
import { metrics } from '../../src/observability/metrics';
import type { Decision, DecisionOutcome, ScoringReceipt } from '../../src/schemas/decision';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { loadPolicyFile } from '../../src/scoring/policy-file';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import { scoringWorkflowId } from '../../workflows';
import type { scoreTransactionWorkflow } from '../../workflows';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, scriptedPolicyFile, startTestPipeline } from '../support/pipeline';
import { expectReceiptOf } from '../support/receipt';

const severity: Record<DecisionOutcome, number> = { approve: 0, review: 1, decline: 2 };

describe('shadow scoring', () => {
  let pipeline: TestPipeline;
  let challengerHash: string;

  beforeAll(async () => {
    pipeline = await startTestPipeline({ name: 'shadow', ingest: true, env: { HOSTED_ESCALATION_ENABLED: 'false' } });
    // The challenger: the shipped policy with stricter thresholds, on the same model.
    const shipped = loadPolicyFile(pipeline.config.scoringPolicy.file).policy;
    const thresholds = { ...shipped.thresholds, reviewAt: shipped.thresholds.reviewAt / 2 };
    const challenger = { ...shipped, name: 'shadow-challenger', thresholds };
    challengerHash = await pipeline.assignments.storePolicy(`${JSON.stringify(challenger, null, 1)}\n`);
  });
  afterAll(async () => {
    await pipeline?.close();
  });

  async function decide(
    count: number,
    already: number,
  ): Promise<Array<{ published: Decision; result: ScoringReceipt }>> {
    const events = Array.from({ length: count }, () => sampleTransaction());
    await pipeline.send(events.map((e) => ({ key: e.transactionId, value: e })));
    const published = (await pipeline.waitForDecisions(already + count, 120_000)).slice(already);
    return Promise.all(
      published.map(async (d) => ({
        published: d,
        result: await pipeline.client.workflow.getHandle<typeof scoreTransactionWorkflow>(d.workflowId).result(),
      })),
    );
  }

  it('records the challenger beside every decision, and the published decision is the champion alone', async () => {
    const model = pipeline.config.localModel.model;
    await pipeline.assignments.update((a) => shadow(a, { model, policyFileHash: challengerHash }));
    const agreedBefore = (await metrics.shadowScores.get()).values.reduce((s, v) => s + v.value, 0);
    const decided = await decide(6, 0);
    for (const { published, result } of decided) {
      expect(published.shadow).toBeUndefined();
      expect(published.policyHash).toBe(pipeline.settings.policyHash);
      // Escalation is off: neither side goes to the hosted tier, and the rules settle the same rows for both.
      expect(result.shadow).toMatchObject({
        model,
        policyFileHash: challengerHash,
        outcome: 'ok',
        wouldEscalate: false,
      });
      expect(result.shadow!.path).toBe(published.path === 'rules' ? 'rules' : 'local');
      expect(result.shadow!.riskScore).toBeGreaterThanOrEqual(0);
      // Same model, same calibration: the same probability, judged by the challenger's own thresholds.
      expect(Math.abs(result.shadow!.riskScore! - published.riskScore)).toBeLessThan(0.05);
      // Its review threshold is lower and everything else equal: never a looser outcome than the champion's.
      expect(severity[result.shadow!.decision!]).toBeGreaterThanOrEqual(severity[published.decision]);
      expect(result.shadow!.agrees).toBe(result.shadow!.decision === published.decision);
      // The receipt carries the champion's decision and the shadow answer; the published decision has no shadow.
      expectReceiptOf(result, published);
      expect(published.shadow).toBeUndefined();
    }
    const agreedAfter = (await metrics.shadowScores.get()).values.reduce((s, v) => s + v.value, 0);
    expect(agreedAfter - agreedBefore).toBe(6);
  }, 300_000);

  it('a failing challenger is recorded as failed and costs the champion nothing', async () => {
    await pipeline.assignments.update((a) =>
      shadow(a, { model: 'fraudflow-no-such-model:latest', policyFileHash: challengerHash }),
    );
    const decided = await decide(4, 6);
    for (const { published, result } of decided) {
      expect(published.path).toBe('local');
      expect(published.modelCalls[0]).toMatchObject({ model: pipeline.config.localModel.model, outcome: 'ok' });
      expect(result.shadow).toMatchObject({ model: 'fraudflow-no-such-model:latest', outcome: 'error' });
      expect(result.shadow!.error).toMatch(/no-such-model|not found/i);
    }
    await pipeline.assignments.update((a) => shadow(a, null));
  }, 300_000);
});

/**
 * The policy step on controlled scores: a scripted local model and a scripted hosted provider stand in, so which
 * transactions escalate is known. Temporal, Kafka, Redis and the workers are real.
 */
describe('shadow scoring through the decision policy', () => {
  let local: HostedTestServer;
  let frontier: HostedTestServer;
  let pipeline: TestPipeline;
  let sameHash: string;
  let widerHash: string;
  const hostedCalls = () => frontier.callCount('/v1/chat/completions');

  beforeAll(async () => {
    local = await startHostedTestServer();
    frontier = await startHostedTestServer({ apiKey: 'key-f' });
    pipeline = await startTestPipeline({
      name: 'shadow-policy',
      env: { LOCAL_MODEL_BASE_URL: local.baseURL, FRONTIER_KEY: 'key-f' },
      hostedProviders: [
        {
          name: 'frontier',
          baseURL: frontier.baseURL,
          apiKeyEnv: 'FRONTIER_KEY',
          model: 'frontier-1',
          inputUsdPerMTok: 3,
          outputUsdPerMTok: 15,
        },
      ],
    });
    // Review 0.4, decline 0.8, escalation band 0.35–0.75. `same`: those thresholds under another name (another
    // hash); `wider`: the band from 0.1.
    const scripted = loadPolicyFile(scriptedPolicyFile).policy;
    const store = (name: string, thresholds: typeof scripted.thresholds) =>
      pipeline.assignments.storePolicy(`${JSON.stringify({ ...scripted, name, thresholds }, null, 1)}\n`);
    sameHash = await store('shadow-same', scripted.thresholds);
    widerHash = await store('shadow-wider', { ...scripted.thresholds, escalation: { low: 0.1, high: 0.75 } });
  });
  afterEach(() => {
    local.reset();
    frontier.reset();
  });
  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([local, frontier].map((s) => s?.close()));
  });

  function scoreBeside(challengerHash: string): Promise<ScoringReceipt> {
    const event = TransactionEvent.parse(sampleTransaction({ transactionId: `t-${randomUUID()}` }));
    const shadow = { model: pipeline.config.localModel.model, policyFileHash: challengerHash, timeoutMs: 30_000 };
    return pipeline.client.workflow.execute<typeof scoreTransactionWorkflow>('scoreTransactionWorkflow', {
      taskQueue: pipeline.settings.taskQueues.orchestration,
      workflowId: scoringWorkflowId(event.transactionId),
      args: [{ event, source: { kind: 'api' }, settings: { ...pipeline.settings, shadow } }],
    });
  }

  it("agrees with an escalated decision under the champion's policy, judged on its hosted answer, asking none", async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.55, confidence: 0.9 }));
    frontier.setBehaviour(() => ({ kind: 'answer', riskScore: 0.93, confidence: 0.95 }));
    const decision = await scoreBeside(sameHash);
    expect(decision).toMatchObject({ decision: 'decline', path: 'escalated', riskScore: 0.93 });
    // Its first pass alone on its thresholds says review (0.55 is in 0.4–0.8): the earlier shadow disagreed here.
    expect(decision.shadow).toMatchObject({
      policyFileHash: sameHash,
      outcome: 'ok',
      riskScore: 0.55,
      decision: 'decline',
      path: 'escalated',
      wouldEscalate: true,
      agrees: true,
    });
    // The champion's escalation only: shadow reused its answer.
    expect(hostedCalls()).toBe(1);
  }, 120_000);

  it('records an escalation the champion did not make, judged without a hosted answer, and calls none', async () => {
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.2, confidence: 0.9 }));
    const unanswered = async () =>
      (await metrics.shadowEscalations.get()).values
        .filter((v) => v.labels.scorer === 'challenger' && v.labels.answer === 'unanswered')
        .reduce((s, v) => s + v.value, 0);
    const before = await unanswered();
    const decision = await scoreBeside(widerHash);
    expect(decision).toMatchObject({ decision: 'approve', path: 'local', riskScore: 0.2 });
    // Inside its band: an ambiguous first pass with no hosted answer is never approved alone.
    expect(decision.shadow).toMatchObject({
      policyFileHash: widerHash,
      outcome: 'ok',
      decision: 'review',
      path: 'local',
      wouldEscalate: true,
      agrees: false,
    });
    expect(hostedCalls()).toBe(0);
    expect((await unanswered()) - before).toBe(1);
  }, 120_000);
});
