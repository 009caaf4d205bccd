/**
 * The shipped rules file decides exactly as the built-in rules of 0.1.0 and 0.2.0 (src/scoring/rules.ts): on a
 * synthetic stream with its point-in-time features, on edge cases the stream rarely produces, and with RULE_*
 * settings changed, the decision-relevant effects (decline, review, escalate) are the same for every transaction.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { ReplayCardHistory } from '../../src/features/replay-history';
import { createTransactionGenerator } from '../../src/generator/synthetic';
import { evaluateRuleSet, ruleInputFor } from '../../src/rules/evaluate';
import { compileShippedRules } from '../../src/rules/shipped';
import type { CardFeatures } from '../../src/schemas/card-features';
import type { RuleHit } from '../../src/schemas/decision';
import type { TransactionEvent } from '../../src/schemas/transaction-event';
import { rulesFloor } from '../../src/scoring/decide';
import { evaluateRules } from '../../src/scoring/rules';

/** What the decision policy reads from rule hits. */
const effects = (hits: RuleHit[]) => ({
  floor: rulesFloor(hits),
  decline: hits.some((h) => h.effect === 'decline'),
  escalate: hits.some((h) => h.effect === 'escalate'),
  kinds: [...new Set(hits.map((h) => h.effect))].sort(),
});

function streamWithFeatures(n: number, seed: number): Array<{ event: TransactionEvent; features: CardFeatures }> {
  const generator = createTransactionGenerator({ seed, fraudShare: 0.3 });
  const history = new ReplayCardHistory();
  return Array.from({ length: n }, () => {
    const event = generator.next();
    return { event, features: history.featuresFor(event) };
  });
}

/** Edge cases around every limit, with and without features. */
function edgeCases(
  base: TransactionEvent,
  features: CardFeatures,
): Array<{ event: TransactionEvent; features?: CardFeatures }> {
  const amounts = [4.99, 5, 4_999.99, 5_000, 49_999, 50_000, 80_000].map((a) => ({
    ...base,
    amount: { minor: Math.round(a * 100), currency: 'USD' as const },
  }));
  const places = [
    { ...base, merchant: { ...base.merchant, country: 'KP' } },
    { ...base, geo: { lat: 1, lon: 1, country: 'IR' } },
    { ...base, merchant: { ...base.merchant, mcc: '7995' } },
    { ...base, merchant: { ...base.merchant, mcc: '6051' } },
    { ...base, channel: 'card_present' as const, cardholderCountry: 'GB' },
    { ...base, channel: 'card_present' as const, cardholderCountry: base.merchant.country },
  ];
  const velocity = [0, 4, 5, 9, 10, 30].map((v) => ({ ...base, velocity: { cardTxnLastHour: v } }));
  const histories: CardFeatures[] = [
    { ...features, txnCount1h: 4 },
    { ...features, txnCount1h: 9 },
    { ...features, smallAmountCount10m: 2 },
    { ...features, distanceKmFromPrevious: 600, speedKmhFromPrevious: 950 },
    { ...features, distanceKmFromPrevious: 400, speedKmhFromPrevious: 5000 },
    { ...features, distanceKmFromPrevious: null, speedKmhFromPrevious: null },
  ];
  const small = { ...base, amount: { minor: 300, currency: 'USD' as const } };
  return [
    ...[...amounts, ...places, ...velocity].flatMap((event) => [{ event, features }, { event }]),
    ...histories.flatMap((f) => [
      { event: base, features: f },
      { event: small, features: f },
    ]),
  ];
}

describe('the shipped rules file', () => {
  const configs = {
    defaults: loadConfig({ ...process.env }),
    changed: loadConfig({
      ...process.env,
      RULE_REVIEW_AMOUNT: '300',
      RULE_DECLINE_AMOUNT: '2000',
      RULE_BLOCKED_MCCS: '5411,5812',
      RULE_BLOCKED_COUNTRIES: 'RU',
      RULE_VELOCITY_ESCALATE_PER_HOUR: '2',
      RULE_VELOCITY_REVIEW_PER_HOUR: '3',
      RULE_CARD_TESTING_COUNT: '1',
      RULE_CARD_TESTING_MAX_USD: '20',
    }),
  };

  for (const [name, config] of Object.entries(configs)) {
    it(`gives the built-in rules' effects on every transaction (${name} RULE_* settings)`, async () => {
      const shipped = await compileShippedRules(config.policy.rules);
      const stream = streamWithFeatures(3_000, 7);
      const cases = [...stream, ...edgeCases(stream[0]!.event, stream[0]!.features)];
      let differing = 0;
      const seen = new Set<string>();
      for (const { event, features } of cases) {
        const builtIn = effects(evaluateRules(event, config.policy.rules, features));
        const verdict = evaluateRuleSet(shipped, ruleInputFor(event, features, {}));
        if (JSON.stringify(effects(verdict.hits)) !== JSON.stringify(builtIn)) differing++;
        for (const k of builtIn.kinds) seen.add(k);
      }
      expect(differing).toBe(0);
      // The comparison covered every effect, not only quiet transactions.
      expect([...seen].sort()).toEqual(['decline', 'escalate', 'review']);
    });
  }

  it('names the same rules as the built-in ones where they held', async () => {
    const config = configs.defaults;
    const shipped = await compileShippedRules(config.policy.rules);
    for (const { event, features } of streamWithFeatures(1_000, 11)) {
      const builtIn = new Set(evaluateRules(event, config.policy.rules, features).map((h) => h.rule));
      const names = evaluateRuleSet(shipped, ruleInputFor(event, features, {})).hits.map((h) =>
        h.rule
          .replace('blocked_location_country', 'blocked_country')
          .replace('card_velocity_escalate', 'card_velocity'),
      );
      expect(new Set(names)).toEqual(builtIn);
    }
  });
});
