/**
 * Decision v1: what fraudflow publishes to the decisions topic (keyed by transactionId); the scoring workflow
 * returns its receipt. Documented with examples in docs/contracts.md.
 */
import { z } from 'zod';
import { decisionVersion } from './versions';
import { CardFeatures } from './card-features';
import { readRenamed } from './renamed-field';

export { decisionVersion };

export const DecisionOutcome = z.enum(['approve', 'review', 'decline']);
export type DecisionOutcome = z.infer<typeof DecisionOutcome>;

/**
 * How the decision was reached: `rules` (a rule decided alone), `local` (the local model's first pass),
 * `escalated` (a hosted frontier model), `fallback` (no usable model answer: the policy's safe default).
 */
export const ScoringPath = z.enum(['rules', 'local', 'escalated', 'fallback']);
export type ScoringPath = z.infer<typeof ScoringPath>;

export const ModelCallOutcome = z.enum(['ok', 'invalid_output', 'error', 'skipped']);

/** One model call as recorded by the activity that made it (attempts that failed are in Temporal's history). */
export const ModelCall = z.object({
  provider: z.string(),
  model: z.string(),
  tier: z.enum(['local', 'hosted']),
  /** Digest of the model weights (Ollama) or the provider's system fingerprint, for reproducibility. */
  modelDigest: z.string().optional(),
  /** Base URL of the endpoint that answered (which local server, for a pool). */
  endpoint: z.string().optional(),
  outcome: ModelCallOutcome,
  /** Why the call did not give a usable answer, when it did not. */
  error: z.string().optional(),
  latencyMs: z.number().nonnegative(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
  riskScore: z.number().min(0).max(1).optional(),
  confidence: z.number().min(0).max(1).optional(),
  /** Local first pass: the model's raw log-odds of fraud before calibration (what `fraudflow tune` fits on). */
  rawScore: z.number().optional(),
  /** Temporal activity attempt that produced this record. */
  attempt: z.number().int().positive().optional(),
});
export type ModelCall = z.infer<typeof ModelCall>;

export const DecisionSource = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('kafka'),
    topic: z.string(),
    partition: z.number().int(),
    offset: z.string(),
    /** The Kafka message timestamp: decidedAt minus this is produce-to-decision latency. */
    timestamp: z.iso.datetime(),
  }),
  z.object({ kind: z.literal('replay'), replayId: z.string(), uri: z.string(), line: z.number().int().optional() }),
  z.object({ kind: z.literal('api') }),
]);
export type DecisionSource = z.infer<typeof DecisionSource>;

/**
 * One rule that held. `allow` (a rules file's allow rule: approve, overriding the rest) and `tag` (recorded only)
 * come from rules files (src/rules); the built-in rules give the other three.
 */
export const RuleHit = z.object({
  rule: z.string(),
  effect: z.enum(['decline', 'review', 'escalate', 'allow', 'tag']),
  detail: z.string(),
});
export type RuleHit = z.infer<typeof RuleHit>;

/**
 * A challenger scored in shadow on the same transaction after the decision: its first pass through the champion's
 * decision policy under its own thresholds (src/scoring/challenger.ts). It changes nothing and calls no hosted model.
 */
const ShadowScoreFields = z.object({
  model: z.string(),
  /** Hash of the challenger's scoring policy file (not a settings policyHash). */
  policyFileHash: z.string(),
  outcome: z.enum(['ok', 'error']),
  /** The challenger's first-pass fraud probability. */
  riskScore: z.number().min(0).max(1).optional(),
  /** The outcome the decision policy gives it (before the policy step existed: its own thresholds on riskScore). */
  decision: DecisionOutcome.optional(),
  /** How the policy reached it: `escalated` when judged on the champion's hosted answer, reused. */
  path: ScoringPath.optional(),
  /** Its policy would have gone to the hosted tier; with `path` not `escalated`, there was no hosted answer to reuse. */
  wouldEscalate: z.boolean().optional(),
  /** Whether that outcome is the champion's decision. */
  agrees: z.boolean().optional(),
  latencyMs: z.number().int().min(0),
  error: z.string().optional(),
});

/** Shadow scores written before the rename carry the policy-file hash as `policyHash`. */
export const ShadowScore = z.preprocess(readRenamed('policyHash', 'policyFileHash'), ShadowScoreFields);
export type ShadowScore = z.infer<typeof ShadowScore>;

/**
 * Which decision this is for the transaction: `final` (the default when absent) or `provisional` — a `review`
 * whose case is open; its case's outcome is published later, on the same key, as the `final` decision.
 */
export const DecisionStage = z.enum(['provisional', 'final']);
export type DecisionStage = z.infer<typeof DecisionStage>;

/** How a review's case ended: on the final decision that closes it. */
export const CaseResolution = z.object({
  /** `analyst`: a verdict through `resolveCase`; `expiry`: the case SLA ran out and the default action applied. */
  resolvedBy: z.enum(['analyst', 'expiry']),
  verdict: z.enum(['fraud', 'legitimate']).optional(),
  analyst: z.string().optional(),
  note: z.string().optional(),
  openedAt: z.iso.datetime(),
  resolvedAt: z.iso.datetime(),
});
export type CaseResolution = z.infer<typeof CaseResolution>;

export const Decision = z.object({
  schemaVersion: z.literal(decisionVersion),
  transactionId: z.string(),
  decision: DecisionOutcome,
  riskScore: z.number().min(0).max(1),
  reasons: z.array(z.string()),
  path: ScoringPath,
  ruleHits: z.array(RuleHit),
  /** The card's point-in-time history features the rules and models saw; absent when the store was unavailable. */
  features: CardFeatures.optional(),
  modelCalls: z.array(ModelCall),
  decidedAt: z.iso.datetime(),
  workflowId: z.string(),
  runId: z.string(),
  source: DecisionSource,
  /**
   * The settings hash: policy, policy file, prompt, models (ScoringSettings.policyHash), so two runs can be told
   * apart and reproduced. Not a policy file's hash (`policyFileHash`).
   */
  policyHash: z.string(),
  promptVersion: z.string(),
  /** Hash of the rule set that decided (src/rules); absent when the built-in rules did (older decisions too). */
  rulesHash: z.string().optional(),
  /** What the rule set's shadow rules would have done; they changed nothing. */
  shadowRuleHits: z.array(RuleHit).optional(),
  /** The challenger's answer when one was scored in shadow (on the workflow's result; published decisions leave first). */
  shadow: ShadowScore.optional(),
  /** @default 'final' when absent (decisions before cases existed) */
  stage: DecisionStage.optional(),
  /** On the final decision of a reviewed transaction: how its case ended. */
  case: CaseResolution.optional(),
});
export type Decision = z.infer<typeof Decision>;

/**
 * What the scoring workflow returns (0.4.0 on): the decision's headline and where it was published. The decision
 * itself is stored once in the workflow's history, as the input of its `publishDecision` activity (and is the message
 * on the decisions topic), not a second time as the result. Workflows of earlier versions returned the whole
 * Decision, which has every field below but `published`.
 */
export const ScoringReceipt = Decision.pick({
  transactionId: true,
  decision: true,
  riskScore: true,
  path: true,
  reasons: true,
  decidedAt: true,
  policyHash: true,
  rulesHash: true,
  stage: true,
  shadow: true,
}).extend({
  published: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }).optional(),
});
export type ScoringReceipt = z.infer<typeof ScoringReceipt>;
