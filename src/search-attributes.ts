/**
 * Custom search attributes fraudflow upserts on every scoring workflow, so an analyst can list decisions in the
 * Temporal UI or with `temporal workflow list --query "FraudDecision = 'decline' AND FraudEscalated = true"`.
 * The dev stack registers them on start (new and existing databases); production clusters register them once
 * with `temporal operator search-attribute create` (see docs/operations.md).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const FraudDecision = defineSearchAttributeKey('FraudDecision', SearchAttributeType.KEYWORD);
export const FraudRiskScore = defineSearchAttributeKey('FraudRiskScore', SearchAttributeType.DOUBLE);
export const FraudEscalated = defineSearchAttributeKey('FraudEscalated', SearchAttributeType.BOOL);
export const FraudScoringPath = defineSearchAttributeKey('FraudScoringPath', SearchAttributeType.KEYWORD);
export const FraudProvider = defineSearchAttributeKey('FraudProvider', SearchAttributeType.KEYWORD);
export const FraudMerchantCategory = defineSearchAttributeKey('FraudMerchantCategory', SearchAttributeType.KEYWORD);
export const FraudAmount = defineSearchAttributeKey('FraudAmount', SearchAttributeType.DOUBLE);
/** The hash of the rule set that decided (`rulesHash` on the decision): which rules were live for it. */
export const FraudRulesHash = defineSearchAttributeKey('FraudRulesHash', SearchAttributeType.KEYWORD);

/** On case workflows: `open`, `resolved` (an analyst's verdict) or `expired` (CASE_SLA ran out). */
export const FraudCaseStatus = defineSearchAttributeKey('FraudCaseStatus', SearchAttributeType.KEYWORD);
/** When the case opened: its age in the UI, and the `--sort age` order. */
export const FraudCaseOpenedAt = defineSearchAttributeKey('FraudCaseOpenedAt', SearchAttributeType.DATETIME);
/** The analyst's verdict, `fraud` or `legitimate`, once given. */
export const FraudCaseVerdict = defineSearchAttributeKey('FraudCaseVerdict', SearchAttributeType.KEYWORD);

export const fraudSearchAttributes = [
  FraudDecision,
  FraudRiskScore,
  FraudEscalated,
  FraudScoringPath,
  FraudProvider,
  FraudMerchantCategory,
  FraudAmount,
  FraudRulesHash,
  FraudCaseStatus,
  FraudCaseOpenedAt,
  FraudCaseVerdict,
] as const;
