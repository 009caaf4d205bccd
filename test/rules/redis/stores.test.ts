/**
 * The rules' Redis side on the real feature store (a database of its own): list changes are all or nothing and
 * audited; promotions stack up for rollback; and the card-history activity reads the live hash and the lists in
 * the card-history round trip (one pipeline per transaction), reading again only when another set went live.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFeatureActivities } from '../../../activities/card-features';
import { loadConfig } from '../../../src/config';
import { RedisCardHistoryStore } from '../../../src/features/store';
import { compileRuleSetText } from '../../../src/rules/compile';
import { ListChangeError, RedisListStore } from '../../../src/rules/list-store';
import { LiveRules, RedisRuleSetStore } from '../../../src/rules/rule-store';
import { compileShippedRules } from '../../../src/rules/shipped';
import { TransactionEvent } from '../../../src/schemas/transaction-event';
import { sampleTransaction } from '../../support/pipeline';

const url = 'redis://127.0.0.1:6379/13';
const author = { by: 'stores-test', reason: 'testing the rules stores' };
const config = loadConfig({ ...process.env });
const blockListed = `version: 1
lists:
  blocked_cards: card_token
rules:
  - name: blocked_card
    action: block
    condition: lists.blocked_cards
    reason: card on the block list
`;

describe('rules stores on Redis', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(url);
    await redis.flushdb();
  });
  afterAll(() => redis?.disconnect());

  it('changes a list all or nothing, and audits who, when, why and what', async () => {
    const lists = new RedisListStore(redis);
    expect(await lists.add('country', 'review_countries', ['ng', 'VN'], author)).toBe(2);
    await expect(lists.add('country', 'review_countries', ['BR', 'Brazil'], author)).rejects.toThrow(ListChangeError);
    expect(await lists.show('country', 'review_countries')).toEqual(['NG', 'VN']);
    expect(await lists.remove('country', 'review_countries', ['NG'], author)).toBe(1);
    await expect(lists.add('country', 'review_countries', ['BR'], { by: 'x', reason: ' ' })).rejects.toThrow(
      /--reason/,
    );
    const audit = await lists.audit(10);
    expect(audit.map((a) => [a.action, a.entries])).toEqual([
      ['remove', ['NG']],
      ['add', ['NG', 'VN']],
    ]);
    expect(audit[0]).toMatchObject({ by: author.by, reason: author.reason, kind: 'country', name: 'review_countries' });
    expect(Date.parse(audit[0]!.at)).not.toBeNaN();
    expect(await lists.all()).toEqual([{ kind: 'country', name: 'review_countries', size: 1 }]);
  });

  it('rolls back through earlier promotions to the shipped rules', async () => {
    const store = new RedisRuleSetStore(redis);
    const a = await compileRuleSetText(blockListed, 'a.yaml');
    const b = await compileRuleSetText(blockListed.replace('card on the block list', 'blocked'), 'b.yaml');
    await store.promote(a, 'a.yaml', author);
    await store.promote(b, 'b.yaml', author);
    expect(await store.liveHash()).toBe(b.hash);
    expect((await store.rollback(author))?.hash).toBe(a.hash);
    expect(await store.liveHash()).toBe(a.hash);
    expect(await store.rollback(author)).toBeUndefined();
    expect(await store.liveHash()).toBeNull();
  });

  it('reads lists and the live hash in the card-history round trip; a new set costs one more read, once', async () => {
    const cardStore = new RedisCardHistoryStore({ redis });
    const ruleStore = new RedisRuleSetStore(redis);
    const live = new LiveRules(ruleStore, () => compileShippedRules(config.policy.rules));
    const activities = createFeatureActivities({ store: cardStore, rules: { live, keyPrefix: 'ff' } });
    const trips = vi.spyOn(cardStore, 'readAndAppendWith');
    const score = (cardToken: string) =>
      activities.computeCardFeatures({ event: TransactionEvent.parse(sampleTransaction({ cardToken })) });

    const shipped = await score('tok_a');
    expect(shipped.ruleVerdict?.rulesHash).toBe((await compileShippedRules(config.policy.rules)).hash);
    expect(trips).toHaveBeenCalledTimes(1);

    const set = await compileRuleSetText(blockListed, 'block.yaml');
    await ruleStore.promote(set, 'block.yaml', author);
    await new RedisListStore(redis).add('card_token', 'blocked_cards', ['tok_blocked'], author);
    const first = await score('tok_blocked');
    expect(first.ruleVerdict).toEqual({
      rulesHash: set.hash,
      hits: [{ rule: 'blocked_card', effect: 'decline', detail: 'card on the block list' }],
      shadowHits: [],
    });
    expect(trips).toHaveBeenCalledTimes(3); // the new set's lists were read once more
    const next = await score('tok_other');
    expect(next.ruleVerdict).toMatchObject({ rulesHash: set.hash, hits: [] });
    const again = await score('tok_blocked');
    expect(again.ruleVerdict?.hits.map((h) => h.rule)).toEqual(['blocked_card']);
    expect(trips).toHaveBeenCalledTimes(5); // one round trip each
    expect(again.txnCount1h).toBe(1);
  });
});
