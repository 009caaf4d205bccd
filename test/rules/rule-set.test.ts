/**
 * Rules files: the grammar conditions may use, precedence between actions, shadow mode, and what is refused at
 * load (with file, line and field), hostile expressions included.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { compileRuleSetText } from '../../src/rules/compile';
import { evaluateRuleSet, ruleInputFor } from '../../src/rules/evaluate';
import { RuleSetError } from '../../src/rules/rule-set';
import type { TransactionEvent } from '../../src/schemas/transaction-event';
import { TransactionEvent as TransactionEventSchema } from '../../src/schemas/transaction-event';

const event: TransactionEvent = TransactionEventSchema.parse({
  transactionId: 'rules-1',
  occurredAt: '2026-12-01T10:00:00Z',
  amount: { minor: 12_345, currency: 'USD' },
  cardToken: 'tok_vip',
  customerId: 'c1',
  merchant: { id: 'm-42', name: 'Shop', mcc: '5411', country: 'US' },
  channel: 'ecommerce',
  ipAddress: '203.0.113.7',
  customer: { email: 'Someone@Example.COM' },
  attributes: { bin: '41111111' },
});

/** A rules file of the given rules (YAML list items), with the lists the tests use. */
function rulesFile(rules: string, extra = ''): string {
  return `version: 1
${extra}lists:
  vip_cards: card_token
  risky_bins: bin_prefix
  proxies: ip_range
  bad_domains: email_domain
rules:
${rules}`;
}

async function verdictOf(rules: string, lists: Record<string, boolean> = {}, e = event) {
  const set = await compileRuleSetText(rulesFile(rules), 'test.yaml');
  return evaluateRuleSet(set, ruleInputFor(e, undefined, lists));
}

async function refusal(text: string): Promise<RuleSetError> {
  const err = await compileRuleSetText(text, 'bad.yaml').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RuleSetError);
  return err as RuleSetError;
}

const rule = (name: string, action: string, condition: string, mode = 'live') =>
  `  - name: ${name}\n    action: ${action}\n    condition: '${condition}'\n    reason: ${name} held\n    mode: ${mode}\n`;

describe('grammar', () => {
  it('reads transaction attributes, lists and params with CEL operators and string functions', async () => {
    const v = await verdictOf(
      rule('amount', 'review', 'txn.amount >= 100 && txn.amount < 200.5') +
        rule('domain', 'tag', 'txn.emailDomain == "example.com" && txn.ipAddress.startsWith("203.")') +
        rule('listed', 'escalate', 'lists.vip_cards || lists.risky_bins') +
        rule('no_history', 'tag', '!card.known && card.distanceKmFromPrevious == -1.0') +
        rule('miss', 'block', 'txn.mcc in ["7995", "6051"] || size(txn.merchantId) > 10'),
      { vip_cards: false, risky_bins: true },
    );
    expect(v.hits.map((h) => `${h.rule}:${h.effect}`)).toEqual([
      'amount:review',
      'domain:tag',
      'listed:escalate',
      'no_history:tag',
    ]);
  });

  it('reads params, and RULE_* settings through { env }', async () => {
    const config = loadConfig({ ...process.env, RULE_REVIEW_AMOUNT: '100' });
    const text = rulesFile(rule('big', 'review', 'txn.amount >= params.limit && txn.mcc in params.mccs'), '') //
      .replace('lists:', 'params:\n  limit: { env: RULE_REVIEW_AMOUNT }\n  mccs: ["5411"]\nlists:');
    const set = await compileRuleSetText(text, 'p.yaml', config.policy.rules);
    expect(set.params.limit).toBe(100);
    expect(evaluateRuleSet(set, ruleInputFor(event, undefined, {})).hits.map((h) => h.rule)).toEqual(['big']);
    const stricter = loadConfig({ ...process.env, RULE_REVIEW_AMOUNT: '1000' });
    const other = await compileRuleSetText(text, 'p.yaml', stricter.policy.rules);
    expect(evaluateRuleSet(other, ruleInputFor(event, undefined, {})).hits).toEqual([]);
    expect(other.hash).not.toBe(set.hash);
  });

  it('gives the same hash to the same rules however the file is laid out, and another to any change', async () => {
    const a = await compileRuleSetText(rulesFile(rule('r', 'review', 'txn.amount > 1.0')), 'a.yaml');
    const json = JSON.stringify(a.document);
    const b = await compileRuleSetText(json, 'b.json');
    const c = await compileRuleSetText(rulesFile(rule('r', 'review', 'txn.amount > 2.0')), 'c.yaml');
    expect(b.hash).toBe(a.hash);
    expect(c.hash).not.toBe(a.hash);
  });
});

describe('precedence', () => {
  const all =
    rule('esc', 'escalate', 'true') +
    rule('rev', 'review', 'true') +
    rule('blk', 'block', 'true') +
    rule('tg', 'tag', 'true') +
    rule('vip', 'allow', 'lists.vip_cards');

  it('an allow hit overrides block, review and escalate; tags stay', async () => {
    const v = await verdictOf(all, { vip_cards: true });
    expect(v.hits.map((h) => `${h.rule}:${h.effect}`)).toEqual(['tg:tag', 'vip:allow']);
    expect(v.hits[1]!.detail).toContain('overrides esc, rev, blk');
  });

  it('without an allow, every live hit stands for the decision policy (block > review > escalate)', async () => {
    const v = await verdictOf(all, { vip_cards: false });
    expect(v.hits.map((h) => h.effect)).toEqual(['escalate', 'review', 'decline', 'tag']);
  });
});

describe('shadow mode', () => {
  it('records what a shadow rule would have done and keeps it off the decision', async () => {
    const v = await verdictOf(rule('would_block', 'block', 'txn.amount > 1.0', 'shadow') + rule('t', 'tag', 'true'));
    expect(v.hits.map((h) => h.rule)).toEqual(['t']);
    expect(v.shadowHits).toEqual([{ rule: 'would_block', effect: 'decline', detail: 'would_block held' }]);
  });

  it('a shadow allow overrides nothing', async () => {
    const v = await verdictOf(rule('b', 'block', 'true') + rule('a', 'allow', 'true', 'shadow'));
    expect(v.hits.map((h) => h.effect)).toEqual(['decline']);
    expect(v.shadowHits.map((h) => h.effect)).toEqual(['allow']);
  });
});

describe('refusals at load name the file, line and field', () => {
  it('a YAML syntax error', async () => {
    const err = await refusal('version: 1\nrules:\n  - name: x\n   action: [block\n');
    expect(err.message).toMatch(/^bad\.yaml:\d+: \(syntax\): /);
  });

  it('an action that does not exist', async () => {
    const err = await refusal(rulesFile(rule('ok', 'review', 'true') + rule('x', 'decline', 'true')));
    expect(err.problems).toEqual([expect.objectContaining({ line: 14, field: 'rules[1].action' })]);
    expect(err.message).toContain('bad.yaml:14: rules[1].action:');
  });

  it('an unknown attribute, an unknown list and an unknown param', async () => {
    const err = await refusal(
      rulesFile(
        rule('a', 'review', 'txn.amout > 1.0') + rule('b', 'review', 'lists.nope') + rule('c', 'tag', 'params.x'),
      ),
    );
    expect(err.problems.map((p) => [p.line, p.field])).toEqual([
      [10, 'rules[0].condition (rule a)'],
      [15, 'rules[1].condition (rule b)'],
      [20, 'rules[2].condition (rule c)'],
    ]);
    expect(err.problems.every((p) => p.message.startsWith('does not type-check'))).toBe(true);
  });

  it('a type error, and a condition that is not a bool', async () => {
    const err = await refusal(
      rulesFile(rule('a', 'review', 'txn.amount + "x" == "y"') + rule('b', 'tag', 'txn.amount')),
    );
    expect(err.problems[0]!.message).toMatch(/type-check/);
    expect(err.problems[1]!.message).toBe('must be a bool, is double');
  });

  it('a duplicate rule name', async () => {
    const err = await refusal(rulesFile(rule('a', 'tag', 'true') + rule('a', 'tag', 'true')));
    expect(err.problems).toEqual([expect.objectContaining({ line: 13, field: 'rules[1].name' })]);
  });

  it('an unknown field, an unknown list kind, a RULE_* setting that does not exist', async () => {
    const bad = rulesFile(rule('a', 'tag', 'true') + rule('b', 'tag', 'true') + '    severity: high\n')
      .replace('proxies: ip_range', 'proxies: ip_ranges')
      .replace('lists:', 'params:\n  x: { env: RULE_NOPE }\nlists:');
    const err = await refusal(bad);
    const fields = err.problems.map((p) => p.field);
    expect(fields).toEqual(expect.arrayContaining(['rules[1]', 'lists.proxies', 'params.x']));
  });

  it('a { env } param outside a loaded configuration', async () => {
    const err = await refusal(
      rulesFile(rule('a', 'tag', 'true')).replace('lists:', 'params:\n  x: { env: RULE_REVIEW_AMOUNT }\nlists:'),
    );
    expect(err.problems[0]).toMatchObject({ field: 'params.x', line: 3 });
  });
});

describe('hostile expressions are refused at load', () => {
  const refusedCondition = async (condition: string) => {
    const err = await refusal(
      rulesFile(`  - name: h\n    action: block\n    condition: ${JSON.stringify(condition)}\n    reason: r\n`),
    );
    return err.problems[0]!.message;
  };

  it('deep nesting', async () => {
    expect(await refusedCondition('('.repeat(40) + 'true' + ')'.repeat(40))).toMatch(/maxDepth/);
  });

  it('a huge string literal, a huge list literal, a long condition', async () => {
    expect(await refusedCondition(`txn.mcc == "${'a'.repeat(300)}"`)).toMatch(/longer than 256/);
    const list = Array.from({ length: 80 }, (_, i) => `"${i}"`).join(',');
    expect(await refusedCondition(`txn.mcc in [${list}]`)).toMatch(/does not parse/);
    const err = await refusal(rulesFile(rule('long', 'tag', `txn.amount > 1.0${' || txn.amount > 1.0'.repeat(60)}`)));
    expect(err.problems[0]!.field).toBe('rules[0].condition');
  });

  it('loops and regular expressions (unbounded cost)', async () => {
    expect(await refusedCondition('[1, 2, 3].all(x, [1, 2, 3].all(y, x > y))')).toMatch(/not allowed/);
    expect(await refusedCondition('txn.mcc.matches("(a+)+$")')).toMatch(/function 'matches' is not allowed/);
  });

  it('YAML aliases (the way a YAML bomb grows)', async () => {
    const err = await refusal('version: 1\nx: &a [1, 2]\nrules: *a\n');
    expect(err.problems[0]!.message).toMatch(/aliases are not allowed/);
  });

  it('reaching the process, globals or prototypes', async () => {
    for (const condition of [
      'process.exit(1) == null',
      'require("child_process") == null',
      'txn.constructor == null',
      'txn["__proto__"] == null',
      'globalThis.process.env == null',
      'this.constructor.constructor("return process")() == null',
    ]) {
      expect(await refusedCondition(condition)).toMatch(/does not (parse|type-check)|not allowed/);
    }
  });
});
