/**
 * One transaction's outcome record: the decision fraudflow made, joined with what really happened (its label), as
 * the outcome store keeps it. Pure: the store reads a record, applies a decision or a label here, and writes the
 * result back atomically, moving the record's count in the live-quality tallies when its counted cell changed.
 *
 * Label conflicts follow one rule, {@link labelPrecedence}: chargeback beats analyst beats customer (the card
 * network's finding settles money; an analyst's verdict beats a cardholder's claim), and within one source the
 * later `reportedAt` wins (a re-opened case, a reversed chargeback). Equal rank and time keep the label held.
 */
import { z } from 'zod';
import type { Decision, DecisionOutcome } from '../schemas/decision';
import { CaseResolution, DecisionOutcome as DecisionOutcomeSchema, ScoringPath } from '../schemas/decision';
import type { Label, LabelSource } from '../schemas/label';
import { Label as LabelSchema } from '../schemas/label';

/** What the outcome store keeps of a decision: the policy and model versions, the scores, the path and the cost. */
export const DecisionSummary = z.object({
  transactionId: z.string(),
  policyHash: z.string(),
  promptVersion: z.string(),
  /** The local and hosted models that answered, `model@digest` when the digest is known. */
  models: z.array(z.string()),
  /** What the policy decided: `review` for a reviewed transaction, whatever its case ended in. */
  policyDecision: DecisionOutcomeSchema,
  /** The final decision once known: the case's outcome for a review, the policy's decision otherwise. */
  finalDecision: DecisionOutcomeSchema.optional(),
  riskScore: z.number(),
  /** The local first pass's calibrated fraud probability; absent when no first pass answered (rules, fallback). */
  firstPassProbability: z.number().optional(),
  path: ScoringPath,
  costUsd: z.number(),
  decidedAt: z.iso.datetime(),
  case: CaseResolution.optional(),
});
export type DecisionSummary = z.infer<typeof DecisionSummary>;

/** The cell of the live confusion matrix a joined record is counted in. */
export const CountedCell = z.object({
  policyHash: z.string(),
  /** decidedAt, in ms: the record counts in the quality windows by when it was decided. */
  decidedAtMs: z.number(),
  policyDecision: DecisionOutcomeSchema,
  outcome: LabelSchema.shape.outcome,
  source: LabelSchema.shape.source,
  /** reportedAt of the label minus decidedAt, never negative. */
  labelDelaySeconds: z.number().nonnegative(),
});
export type CountedCell = z.infer<typeof CountedCell>;

export const OutcomeRecord = z.object({
  decision: DecisionSummary.optional(),
  label: LabelSchema.optional(),
});
export type OutcomeRecord = z.infer<typeof OutcomeRecord>;

/** What applying a label did, for the counters. */
export type LabelEffect = 'first' | 'duplicate' | 'replaced' | 'kept';

export interface LabelApplied {
  record: OutcomeRecord;
  effect: LabelEffect;
  /** The label's outcome differs from the one held before it (whichever the rule keeps). */
  conflict: boolean;
}

const sourceRank: Record<LabelSource, number> = { chargeback: 3, analyst: 2, customer: 1 };

/** Positive when `a` takes precedence over `b`, negative when `b` does, 0 when neither (same source and time). */
export function labelPrecedence(a: Label, b: Label): number {
  const bySource = sourceRank[a.source] - sourceRank[b.source];
  if (bySource !== 0) return bySource;
  return Date.parse(a.reportedAt) - Date.parse(b.reportedAt);
}

const sameLabel = (a: Label, b: Label) =>
  a.outcome === b.outcome && a.source === b.source && Date.parse(a.reportedAt) === Date.parse(b.reportedAt);

/** The record with `label` applied under the precedence rule. */
export function applyLabel(record: OutcomeRecord, label: Label): LabelApplied {
  const held = record.label;
  if (!held) return { record: { ...record, label }, effect: 'first', conflict: false };
  const conflict = held.outcome !== label.outcome;
  if (sameLabel(held, label)) return { record, effect: 'duplicate', conflict: false };
  if (labelPrecedence(label, held) > 0) return { record: { ...record, label }, effect: 'replaced', conflict };
  return { record, effect: 'kept', conflict };
}

/**
 * The record with `decision` applied. The first decision seen sets the policy's fields; a later one (the final
 * decision of a reviewed transaction, or a redelivery) only adds the final decision and the case. A final decision
 * with a case came from a review, so the policy's decision is `review` even if the provisional one never arrived.
 */
export function applyDecision(record: OutcomeRecord, decision: DecisionSummary): OutcomeRecord {
  const held = record.decision;
  if (!held) return { ...record, decision };
  const final = decision.finalDecision ?? held.finalDecision;
  const resolved = decision.case ?? held.case;
  return {
    ...record,
    decision: { ...held, ...(final ? { finalDecision: final } : {}), ...(resolved ? { case: resolved } : {}) },
  };
}

/** The cell a record counts in, once it has both a decision and a label. */
export function countedCell(record: OutcomeRecord): CountedCell | undefined {
  const { decision, label } = record;
  if (!decision || !label) return undefined;
  const decidedAtMs = Date.parse(decision.decidedAt);
  return {
    policyHash: decision.policyHash,
    decidedAtMs,
    policyDecision: decision.policyDecision,
    outcome: label.outcome,
    source: label.source,
    labelDelaySeconds: Math.max(0, (Date.parse(label.reportedAt) - decidedAtMs) / 1000),
  };
}

/** Whether two counted cells are the same count (same place in the tallies, same delay). */
export function sameCell(a: CountedCell | undefined, b: CountedCell | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The summary the store keeps of a published decision. */
export function summarizeDecision(decision: Decision): DecisionSummary {
  const reviewed = decision.stage === 'provisional' || decision.case !== undefined;
  const policyDecision: DecisionOutcome = reviewed ? 'review' : decision.decision;
  const answered = decision.modelCalls.filter((c) => c.outcome === 'ok');
  const firstPass = answered.find((c) => c.tier === 'local');
  return {
    transactionId: decision.transactionId,
    policyHash: decision.policyHash,
    promptVersion: decision.promptVersion,
    models: answered.map((c) => (c.modelDigest ? `${c.model}@${c.modelDigest}` : c.model)),
    policyDecision,
    ...(decision.stage === 'provisional' ? {} : { finalDecision: decision.decision }),
    riskScore: decision.riskScore,
    ...(firstPass?.riskScore !== undefined ? { firstPassProbability: firstPass.riskScore } : {}),
    path: decision.path,
    costUsd: decision.modelCalls.reduce((sum, c) => sum + c.costUsd, 0),
    decidedAt: decision.decidedAt,
    ...(decision.case ? { case: decision.case } : {}),
  };
}
