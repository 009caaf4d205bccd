/**
 * Counting decisions against labels: the figures a fraud team judges fraudflow by. One tally for measured
 * decisions (whole counts) and for simulated operating points (expected counts, where an escalated transaction
 * is declined or flagged with the hosted tier's measured probability).
 */
export interface OutcomeTally {
  fraud: number;
  legit: number;
  flaggedFraud: number;
  declinedFraud: number;
  flaggedLegit: number;
  declinedLegit: number;
  escalated: number;
}

export interface OutcomeRates {
  transactions: number;
  /** Frauds sent to review or declined / frauds. */
  recall: number;
  /** Frauds declined / frauds. */
  declineRecall: number;
  /** Legitimate transactions declined / legitimate transactions. */
  falsePositiveRate: number;
  /** Legitimate transactions sent to review or declined / legitimate transactions. */
  reviewOrDeclineFalsePositiveRate: number;
  /** Declined transactions that are fraud (1 when nothing is declined). */
  declinePrecision: number;
  /** Transactions that reached the hosted tier / transactions. */
  escalationShare: number;
}

export function emptyTally(): OutcomeTally {
  return { fraud: 0, legit: 0, flaggedFraud: 0, declinedFraud: 0, flaggedLegit: 0, declinedLegit: 0, escalated: 0 };
}

/**
 * Adds one transaction; `decline` and `flag` are 0/1, or probabilities for a simulated escalation. `weight` is how
 * many transactions the row stands for (a kept legitimate row stands for those sampled out with it).
 */
export function addOutcome(
  tally: OutcomeTally,
  isFraud: boolean,
  outcome: { decline: number; flag: number; escalated: boolean },
  weight = 1,
): void {
  if (isFraud) {
    tally.fraud += weight;
    tally.flaggedFraud += weight * outcome.flag;
    tally.declinedFraud += weight * outcome.decline;
  } else {
    tally.legit += weight;
    tally.flaggedLegit += weight * outcome.flag;
    tally.declinedLegit += weight * outcome.decline;
  }
  if (outcome.escalated) tally.escalated += weight;
}

export function outcomeRates(t: OutcomeTally): OutcomeRates {
  const share = (n: number, d: number) => (d > 0 ? n / d : 0);
  const declined = t.declinedFraud + t.declinedLegit;
  const transactions = t.fraud + t.legit;
  return {
    transactions,
    recall: share(t.flaggedFraud, t.fraud),
    declineRecall: share(t.declinedFraud, t.fraud),
    falsePositiveRate: share(t.declinedLegit, t.legit),
    reviewOrDeclineFalsePositiveRate: share(t.flaggedLegit, t.legit),
    declinePrecision: declined > 0 ? t.declinedFraud / declined : 1,
    escalationShare: share(t.escalated, transactions),
  };
}
