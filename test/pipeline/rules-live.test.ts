/**
 * Rules and lists change while transactions stream (real stack: Kafka, ingest, Temporal, Redis; a scripted local
 * model so decisions are quick): a promoted rule set decides every transaction sent after the promotion returned,
 * a list entry added later takes effect from the next transaction, a rollback returns to the shipped rules, and
 * every decision carries the hash of the rule set that decided it (also as the FraudRulesHash search attribute).
 * The feature store is a Redis database of its own, so the promotion touches no other test's traffic.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRuleSetText } from '../../src/rules/compile';
import { RedisListStore } from '../../src/rules/list-store';
import { RedisRuleSetStore } from '../../src/rules/rule-store';
import { compileShippedRules } from '../../src/rules/shipped';
import type { Decision } from '../../src/schemas/decision';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

const featureStoreUrl = 'redis://127.0.0.1:6379/11';
const author = { by: 'rules-live-test', reason: 'real-stack test of live rule changes' };

const ruleSetText = `version: 1
lists:
  vip_cards: card_token
rules:
  - name: vip_card
    action: allow
    condition: lists.vip_cards
    reason: a VIP card is always approved
  - name: grocery_blocked
    action: block
    condition: txn.mcc == "5411"
    reason: grocery blocked while this test runs
  - name: would_review
    action: review
    mode: shadow
    condition: txn.amount > 10.0
    reason: what a review rule would have done
`;

describe('rules and lists changed while transactions stream', () => {
  let local: HostedTestServer;
  let pipeline: TestPipeline;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(featureStoreUrl);
    const stale = [...(await redis.keys('ff:rules:*')), ...(await redis.keys('ff:list*'))];
    if (stale.length > 0) await redis.del(...stale);
    local = await startHostedTestServer();
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.05, confidence: 0.9, reasons: ['ordinary purchase'] }));
    pipeline = await startTestPipeline({
      name: 'rules-live',
      ingest: true,
      env: {
        HOSTED_ESCALATION_ENABLED: 'false',
        LOCAL_MODEL_BASE_URL: local.baseURL,
        FEATURE_STORE_URL: featureStoreUrl,
      },
    });
  });
  afterAll(async () => {
    await pipeline?.close();
    await local?.close();
    redis?.disconnect();
  });

  it('decides with the promoted rule set and the new list entry from the next transaction on, with the hash on each', async () => {
    const shipped = await compileShippedRules(pipeline.config.policy.rules);
    const promoted = await compileRuleSetText(ruleSetText, 'live-test.yaml', pipeline.config.policy.rules);
    const vipCard = `tok_vip_${Date.now()}`;
    const sentAt = new Map<string, { at: number; vip: boolean }>();
    let sending = true;
    let n = 0;
    const traffic = (async () => {
      while (sending) {
        const vip = n++ % 2 === 0;
        const event = sampleTransaction(vip ? { cardToken: vipCard } : {});
        const at = Date.now();
        await pipeline.send([{ key: event.transactionId, value: event }]);
        sentAt.set(event.transactionId, { at, vip });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    /** Until `count` transactions sent after `since` are decided: each phase gets enough traffic, however slow. */
    const decidedSince = async (since: number, count: number) => {
      const sentSince = (d: Decision) => (sentAt.get(d.transactionId)?.at ?? 0) > since;
      const deadline = Date.now() + 120_000;
      while (pipeline.decisions.filter(sentSince).length < count) {
        if (Date.now() > deadline) throw new Error(`fewer than ${count} decisions of transactions sent after ${since}`);
        await pause(200);
      }
    };
    const rules = new RedisRuleSetStore(redis);
    await decidedSince(0, 6);
    // A decision received before the promotion began was made with the shipped rules; a transaction sent after it
    // returned is decided with the new set. (A decision's decidedAt can precede its card-history read: the local
    // activity runs inside the workflow task whose start time the workflow clock reads.)
    const receivedBeforePromotion = pipeline.decisions.length;
    await rules.promote(promoted, 'live-test.yaml', author);
    const promotedAt = Date.now();
    await decidedSince(promotedAt, 6);
    const receivedBeforeListing = pipeline.decisions.length;
    await new RedisListStore(redis).add('card_token', 'vip_cards', [vipCard], author);
    const listedAt = Date.now();
    await decidedSince(listedAt, 6);
    const receivedBeforeRollback = pipeline.decisions.length;
    await rules.rollback(author);
    const rolledBackAt = Date.now();
    await decidedSince(rolledBackAt, 6);
    sending = false;
    await traffic;

    const decisions = await pipeline.waitForDecisions(sentAt.size, 180_000);
    expect(new Set(decisions.map((d) => d.transactionId))).toEqual(new Set(sentAt.keys()));
    const phase = (d: Decision) => {
      const { at } = sentAt.get(d.transactionId)!;
      const received = pipeline.decisions.indexOf(d);
      if (at > rolledBackAt) return 'rolled back';
      if (at > listedAt && received < receivedBeforeRollback) return 'listed';
      if (at > promotedAt && received < receivedBeforeListing) return 'promoted';
      if (received < receivedBeforePromotion) return 'shipped';
      return 'in between';
    };
    const seen: Record<string, number> = {};
    for (const d of decisions) {
      const p = phase(d);
      seen[p] = (seen[p] ?? 0) + 1;
      const vip = sentAt.get(d.transactionId)!.vip;
      expect([shipped.hash, promoted.hash]).toContain(d.rulesHash);
      if (p === 'shipped' || p === 'rolled back') {
        expect(d.rulesHash, `${p}: ${JSON.stringify(d)}`).toBe(shipped.hash);
        expect(d.shadowRuleHits).toBeUndefined();
      }
      if (p === 'promoted' || p === 'listed') {
        expect(d.rulesHash).toBe(promoted.hash);
        expect(d.shadowRuleHits).toEqual([
          { rule: 'would_review', effect: 'review', detail: 'what a review rule would have done' },
        ]);
        expect(d.path).toBe('rules');
        expect(d.modelCalls).toEqual([]);
      }
      if (p === 'promoted' || (p === 'listed' && !vip)) {
        expect(d.decision).toBe('decline');
        expect(d.ruleHits.map((h) => h.rule)).toEqual(['grocery_blocked']);
      }
      if (p === 'listed' && vip) {
        expect(d.decision).toBe('approve');
        expect(d.ruleHits).toEqual([
          { rule: 'vip_card', effect: 'allow', detail: 'a VIP card is always approved (overrides grocery_blocked)' },
        ]);
      }
    }
    for (const p of ['shipped', 'promoted', 'listed', 'rolled back']) expect(seen[p], p).toBeGreaterThanOrEqual(5);

    const last = decisions.find((d) => phase(d) === 'listed')!;
    const described = await pipeline.client.workflow.getHandle(last.workflowId).describe();
    expect(described.typedSearchAttributes.getAll().find((a) => a.key.name === 'FraudRulesHash')?.value).toBe(
      promoted.hash,
    );
    const audit = await new RedisListStore(redis).audit(5);
    expect(audit[0]).toMatchObject({
      by: author.by,
      reason: author.reason,
      action: 'add',
      kind: 'card_token',
      name: 'vip_cards',
      entries: [vipCard],
    });
  }, 300_000);
});
