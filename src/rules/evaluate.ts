/**
 * Evaluates a compiled rule set on one transaction. Every rule is evaluated (a rule's hit counts are wanted
 * even when a stronger rule decides); precedence then picks what the decision sees:
 * - a live `allow` hit overrides every `block`, `review` and `escalate` hit (they are named in its detail);
 * - otherwise every live hit goes on, and the decision policy applies block (decline) > review > escalate;
 * - `tag` hits are recorded only; `shadow` rules go to `shadowHits` and never reach the decision.
 */
import type { RuleHit } from '../schemas/decision';
import type { TransactionEvent } from '../schemas/transaction-event';
import type { CardFeatures } from '../schemas/card-features';
import type { CardAttributes, TransactionAttributes } from './attributes';
import { cardAttributesOf, transactionAttributesOf } from './attributes';
import type { CompiledRule, CompiledRuleSet } from './compile';
import type { RuleAction } from './rule-set';

/** What the rules said about one transaction: recorded in the activity's result and on the decision. */
export interface RuleVerdict {
  rulesHash: string;
  /** Live hits after precedence, in file order: what the decision policy acts on. */
  hits: RuleHit[];
  /** Hits of shadow rules: what they would have done. */
  shadowHits: RuleHit[];
}

/** What one transaction offers the conditions. */
export interface RuleInput {
  txn: TransactionAttributes;
  card: CardAttributes;
  /** Membership of the transaction in each list the rule set declares. */
  lists: Record<string, boolean>;
}

const effectOf: Record<RuleAction, RuleHit['effect']> = {
  allow: 'allow',
  block: 'decline',
  review: 'review',
  escalate: 'escalate',
  tag: 'tag',
};

/** The rule input for a transaction, its features (absent: history unknown) and its list memberships. */
export function ruleInputFor(
  event: TransactionEvent,
  features: CardFeatures | undefined,
  lists: Record<string, boolean>,
): RuleInput {
  return { txn: transactionAttributesOf(event), card: cardAttributesOf(event, features), lists };
}

export function evaluateRuleSet(ruleSet: CompiledRuleSet, input: RuleInput): RuleVerdict {
  return evaluateRuleSetHeld(ruleSet, input).verdict;
}

/** The verdict, and every rule whose condition held (before precedence, whatever its mode): for the backtest. */
export function evaluateRuleSetHeld(
  ruleSet: CompiledRuleSet,
  input: RuleInput,
): { verdict: RuleVerdict; held: string[] } {
  const held: string[] = [];
  const context = { ...input, lists: { _none: false, ...input.lists }, params: { _none: false, ...ruleSet.params } };
  const live: Array<{ rule: CompiledRule; hit: RuleHit }> = [];
  const shadowHits: RuleHit[] = [];
  for (const rule of ruleSet.rules) {
    if (!holds(rule, context)) continue;
    held.push(rule.name);
    const hit: RuleHit = { rule: rule.name, effect: effectOf[rule.action], detail: rule.reason };
    if (rule.mode === 'shadow') shadowHits.push(hit);
    else live.push({ rule, hit });
  }
  return { verdict: { rulesHash: ruleSet.hash, hits: withPrecedence(live.map((l) => l.hit)), shadowHits }, held };
}

/** An allow hit overrides the rest (tags stay); otherwise every live hit stands. */
export function withPrecedence(hits: RuleHit[]): RuleHit[] {
  const allows = hits.filter((h) => h.effect === 'allow');
  if (allows.length === 0) return hits;
  const overridden = hits.filter((h) => h.effect !== 'allow' && h.effect !== 'tag').map((h) => h.rule);
  const note = overridden.length > 0 ? ` (overrides ${overridden.join(', ')})` : '';
  const first = allows[0];
  return hits
    .filter((h) => h.effect === 'allow' || h.effect === 'tag')
    .map((h) => (h === first ? { ...h, detail: h.detail + note } : h));
}

/**
 * A condition that fails at run time (an overflow the type checker cannot see) does not hold: rules are checked
 * at load, so this is a rule-author error, and the model still scores the transaction.
 */
function holds(rule: CompiledRule, context: Record<string, unknown>): boolean {
  try {
    return rule.condition(context) === true;
  } catch {
    return false;
  }
}
