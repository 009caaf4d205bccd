/**
 * Deterministic fraud rules: pure functions shared by the workflow and the tests. A rule can force a decline,
 * force a review or force escalation to a hosted model; rules always outrank models.
 */
import type { ScoringPolicy } from '../config';
import type { RuleHit } from '../schemas/decision';
import { toMajorUnits } from '../money';
import type { TransactionEvent } from '../schemas/transaction-event';
import type { CardFeatures } from '../schemas/card-features';
import { amountInUsd } from '../features/usd-rates';

/**
 * Rules over the event and, when known, its card's point-in-time features (`features`). Upstream velocity on the
 * event is still read; where both are present the higher count wins.
 */
export function evaluateRules(
  event: TransactionEvent,
  rules: ScoringPolicy['rules'],
  features?: CardFeatures,
): RuleHit[] {
  const hits: RuleHit[] = [];
  const amount = toMajorUnits(event.amount);
  const { mcc, country } = event.merchant;

  if (rules.blockedCountries.includes(country)) {
    hits.push({ rule: 'blocked_country', effect: 'decline', detail: `merchant country ${country} is blocked` });
  }
  if (event.geo?.country && rules.blockedCountries.includes(event.geo.country)) {
    hits.push({
      rule: 'blocked_country',
      effect: 'decline',
      detail: `transaction location ${event.geo.country} is blocked`,
    });
  }
  if (rules.blockedMccs.includes(mcc)) {
    hits.push({ rule: 'blocked_mcc', effect: 'decline', detail: `merchant category ${mcc} is blocked` });
  }
  if (amount >= rules.declineAmount) {
    hits.push({
      rule: 'amount_limit',
      effect: 'decline',
      detail: `amount ${amount} ${event.amount.currency} ≥ ${rules.declineAmount}`,
    });
  } else if (amount >= rules.reviewAmount) {
    hits.push({
      rule: 'amount_review',
      effect: 'review',
      detail: `amount ${amount} ${event.amount.currency} ≥ ${rules.reviewAmount}`,
    });
  }
  if (rules.reviewMccs.includes(mcc)) {
    hits.push({ rule: 'review_mcc', effect: 'review', detail: `merchant category ${mcc} always gets a human review` });
  }
  if (rules.escalateMccs.includes(mcc)) {
    hits.push({
      rule: 'escalate_mcc',
      effect: 'escalate',
      detail: `merchant category ${mcc} needs the frontier model`,
    });
  }
  const computedPerHour = features ? features.txnCount1h + 1 : undefined;
  const upstreamPerHour = event.velocity?.cardTxnLastHour;
  const perHour =
    computedPerHour === undefined ? upstreamPerHour : Math.max(computedPerHour, upstreamPerHour ?? computedPerHour);
  if (perHour !== undefined) {
    if (perHour >= rules.velocityReviewPerHour) {
      hits.push({ rule: 'card_velocity', effect: 'review', detail: `${perHour} card transactions in the last hour` });
    } else if (perHour >= rules.velocityEscalatePerHour) {
      hits.push({ rule: 'card_velocity', effect: 'escalate', detail: `${perHour} card transactions in the last hour` });
    }
  }
  if (features) hits.push(...featureRules(event, rules, features));
  if (event.cardholderCountry && event.cardholderCountry !== country && event.channel === 'card_present') {
    hits.push({
      rule: 'card_present_abroad',
      effect: 'escalate',
      detail: `card-present purchase in ${country}, cardholder from ${event.cardholderCountry}`,
    });
  }
  return hits;
}

export function hasEffect(hits: RuleHit[], effect: RuleHit['effect']): boolean {
  return hits.some((h) => h.effect === effect);
}

/**
 * Rules the card's history makes possible: card testing (a small amount after several small ones within minutes)
 * is reviewed; impossible travel (far from the previous located transaction, faster than a plane) is escalated.
 */
function featureRules(event: TransactionEvent, rules: ScoringPolicy['rules'], f: CardFeatures): RuleHit[] {
  const hits: RuleHit[] = [];
  if (amountInUsd(event.amount) < rules.cardTestingMaxAmountUsd && f.smallAmountCount10m >= rules.cardTestingCount) {
    hits.push({
      rule: 'card_testing',
      effect: 'review',
      detail: `${f.smallAmountCount10m + 1} small amounts on the card within 10 minutes`,
    });
  }
  if (
    f.speedKmhFromPrevious !== null &&
    f.distanceKmFromPrevious !== null &&
    f.distanceKmFromPrevious >= rules.impossibleTravelMinKm &&
    f.speedKmhFromPrevious >= rules.impossibleTravelKmh
  ) {
    hits.push({
      rule: 'impossible_travel',
      // Location data is noisy (IP geolocation, merchant addresses): a judgement for the frontier model, not a
      // review on its own.
      effect: 'escalate',
      detail: `${Math.round(f.distanceKmFromPrevious)} km from the previous transaction at ${Math.round(f.speedKmhFromPrevious)} km/h`,
    });
  }
  return hits;
}
