/**
 * List entries and lookups (normalization, BIN prefixes, IP ranges), and the backtest: with the rules a replay ran
 * with it reproduces the replay's decisions; a changed rule set moves exactly the rows its rules touch.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { backtestRuleSet } from '../../src/rules/backtest';
import { compileRuleSetText } from '../../src/rules/compile';
import { isListed, listCandidates, normalizeListEntry } from '../../src/rules/list-kinds';
import type { ListKind } from '../../src/rules/list-kinds';
import { compileShippedRules, shippedRulesFile } from '../../src/rules/shipped';
import { TransactionEvent } from '../../src/schemas/transaction-event';
import { scoredReplayRows } from '../../src/testing/scored-replay';

const event = TransactionEvent.parse({
  transactionId: 'l-1',
  occurredAt: '2026-12-01T10:00:00Z',
  amount: { minor: 1_000, currency: 'USD' },
  cardToken: 'tok_1',
  customerId: 'c1',
  merchant: { id: 'm-1', name: 'Shop', mcc: '5411', country: 'us'.toUpperCase() },
  channel: 'ecommerce',
  ipAddress: '198.51.100.77',
  customer: { email: 'a@Mail.Example.org' },
  attributes: { bin: '45671234' },
});

const entry = (kind: ListKind, raw: string) => {
  const n = normalizeListEntry(kind, raw);
  return n.ok ? n.entry : `invalid: ${n.error}`;
};
const listed = (kind: ListKind, raws: string[], e = event) =>
  isListed(kind, e, new Set(raws.map((r) => entry(kind, r))));

describe('list entries and lookups', () => {
  it('normalizes entries so an add and a lookup agree', () => {
    expect(entry('country', 'de')).toBe('DE');
    expect(entry('email_domain', 'Mail.Example.ORG')).toBe('mail.example.org');
    expect(entry('country', 'Germany')).toMatch(/^invalid: expected an ISO 3166-1/);
    expect(entry('bin_prefix', '4567-12')).toMatch(/^invalid/);
    expect(entry('ip_range', '10.0.0.0/33')).toMatch(/^invalid: expected a prefix length 0-32/);
    expect(entry('ip_range', 'not-an-ip')).toMatch(/^invalid/);
  });

  it('matches BIN prefixes of any length up to 8 digits', () => {
    expect(listed('bin_prefix', ['4567'])).toBe(true);
    expect(listed('bin_prefix', ['45671234'])).toBe(true);
    expect(listed('bin_prefix', ['4568', '5'])).toBe(false);
    expect(listCandidates('bin_prefix', { ...event, attributes: {} })).toEqual([]);
  });

  it('matches IPv4 and IPv6 ranges by network, and single addresses', () => {
    expect(listed('ip_range', ['198.51.100.0/24'])).toBe(true);
    expect(listed('ip_range', ['198.51.100.77'])).toBe(true);
    expect(listed('ip_range', ['198.51.101.0/24', '198.51.100.78/32'])).toBe(false);
    expect(listed('ip_range', ['0.0.0.0/0'])).toBe(true);
    const v6 = { ...event, ipAddress: '2001:db8:0:0:1::7' };
    expect(listed('ip_range', ['2001:db8::/32'], v6)).toBe(true);
    expect(listed('ip_range', ['2001:db9::/32', '198.51.100.0/24'], v6)).toBe(false);
  });

  it('matches card tokens, merchants, the merchant country and the e-mail domain exactly', () => {
    expect(listed('card_token', ['tok_1'])).toBe(true);
    expect(listed('merchant_id', ['m-2'])).toBe(false);
    expect(listed('country', ['us'])).toBe(true);
    expect(listed('email_domain', ['example.org'])).toBe(false);
    expect(listed('email_domain', ['mail.example.org'])).toBe(true);
  });
});

describe('rules test (backtest)', () => {
  const config = loadConfig({ ...process.env });
  const rows = scoredReplayRows({ rows: 3_000, seed: 3, policy: config.policy, replayId: 'bt' });

  it("with the rules the replay ran with, reproduces the replay's figures and changes no outcome", async () => {
    const shipped = await compileShippedRules(config.policy.rules);
    const b = backtestRuleSet({
      rows,
      candidate: shipped,
      live: shipped,
      lists: new Map(),
      policy: config.policy,
      limits: { maxEscalation: 1, maxFalsePositiveRate: 1, maxReviewFalsePositiveRate: 1, minDeclinePrecision: 0 },
    });
    expect(b.changed).toBe(0);
    const { unscored, escalationsWithoutAnswer, ...figures } = b.candidate;
    expect(unscored + escalationsWithoutAnswer).toBe(0);
    expect({ ...figures, hash: undefined }).toEqual({
      ...b.stored,
      unscored: undefined,
      escalationsWithoutAnswer: undefined,
      hash: undefined,
    });
    expect(b.stored.recall).toBeGreaterThan(0);
    expect(b.stored.reviews).toBeGreaterThan(0);
  });

  it('a rule that blocks a listed merchant changes exactly the rows at that merchant, and counts its hits', async () => {
    const shipped = await compileShippedRules(config.policy.rules);
    const merchant = rows[0]!.event.merchant.id;
    const atMerchant = rows.filter((r) => r.event.merchant.id === merchant);
    // The shipped rules plus one block rule on a list.
    const text = fs
      .readFileSync(shippedRulesFile, 'utf8')
      .replace('\nrules:\n', '\nlists:\n  blocked_merchants: merchant_id\nrules:\n')
      .concat(
        '  - name: blocked_merchant\n    action: block\n    condition: lists.blocked_merchants\n    reason: on the list\n',
      );
    const candidate = await compileRuleSetText(text, 'block.yaml', config.policy.rules);
    const limits = { maxEscalation: 1, maxFalsePositiveRate: 0, maxReviewFalsePositiveRate: 1, minDeclinePrecision: 0 };
    const b = backtestRuleSet({
      rows,
      candidate,
      live: shipped,
      lists: new Map([[`merchant_id:blocked_merchants`, new Set([merchant])]]),
      policy: config.policy,
      limits,
    });
    expect(b.rules.at(-1)).toEqual({
      rule: 'blocked_merchant',
      action: 'block',
      mode: 'live',
      hits: atMerchant.length,
      fraudHit: atMerchant.filter((r) => r.label!.isFraud).length,
      legitimateHit: atMerchant.filter((r) => !r.label!.isFraud).length,
    });
    expect(b.candidate.falsePositiveRate).toBeGreaterThan(0);
    expect(b.limitsBroken[0]).toMatch(/^false-positive rate .* > 0$/);
    expect(b.changed).toBe(atMerchant.filter((r) => r.decision.decision !== 'decline').length);
    expect(b.changed).toBeGreaterThan(0);
  });
});
