/**
 * The scoring policy file: what `fraudflow tune` learns from labelled history and what workers and replays load.
 * It holds how the local model's raw output becomes a score (the first pass), the calibration from features plus
 * that score to a fraud probability, and the thresholds and escalation band. Versioned and hashed: the hash is
 * part of every decision's policyHash.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ScoringPolicy } from '../config';
import { calibrationInputNames } from './calibration';
import { CalibrationContext } from './calibration-context';

export const LogisticModelSchema = z.object({
  intercept: z.number(),
  weights: z.array(z.number()),
  mean: z.array(z.number()),
  scale: z.array(z.number().positive()),
});

/**
 * How the local model answers the first pass.
 * - `embedding-probe`: the model embeds the prompt (`/v1/embeddings`); a linear probe trained on labelled history
 *   turns the embedding into a log-odds. One forward pass, no generation: fast, and continuous.
 *   With an `answerCue` (a fine-tuned model's policy), the text embedded ends with the question the model was
 *   fine-tuned to answer, so the embedding is the state its answer comes from.
 * - `generated-score`: the model generates a JSON RiskAssessment; its riskScore's log-odds is the raw output.
 */
export const FirstPass = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('embedding-probe'),
    probe: LogisticModelSchema,
    answerCue: z.string().min(1).max(40).optional(),
  }),
  z.object({ kind: z.literal('generated-score') }),
]);
export type FirstPass = z.infer<typeof FirstPass>;
export type EmbeddingProbe = Extract<FirstPass, { kind: 'embedding-probe' }>;

const probability = z.number().min(0).max(1);

export const PolicyThresholds = z
  .object({
    /** Probability at or above which a first-pass decision is at least review. */
    reviewAt: probability,
    /** Probability at or above which it is decline. */
    declineAt: probability,
    /** The escalation band [low, high] of first-pass probabilities sent to the hosted tier; null: none. */
    escalation: z.object({ low: probability, high: probability }).nullable(),
    /** First-pass answers below this confidence also escalate (generated scores only). @default 0 */
    minConfidence: probability.default(0),
    /**
     * The hosted tier's own score cut points for escalated transactions, and what its answer may do: `decides`
     * (it replaces the first pass's outcome) or `raises` (it may only make the first pass's outcome stricter).
     * @default review 0.5, decline 0.8, decides
     */
    hosted: z
      .object({ reviewAt: probability, declineAt: probability, mode: z.enum(['decides', 'raises']).default('decides') })
      .default({ reviewAt: 0.5, declineAt: 0.8, mode: 'decides' }),
  })
  .refine((t) => t.reviewAt <= t.declineAt, 'reviewAt must not exceed declineAt')
  .refine((t) => !t.escalation || t.escalation.low <= t.escalation.high, 'escalation.low must not exceed high');

export const ScoringPolicyFile = z
  .object({
    schemaVersion: z.literal(1),
    name: z.string().min(1),
    /** The local model the first pass was fitted on; a different model needs its own policy. */
    localModel: z.string().min(1),
    firstPass: FirstPass,
    /** `context`: the reference the context inputs are measured against; absent in policies tuned before them. */
    calibration: z.object({
      withModel: z.boolean(),
      model: LogisticModelSchema,
      context: CalibrationContext.optional(),
    }),
    thresholds: PolicyThresholds,
    /** Where the policy came from: replay, rows, split, limits, chosen operating point. */
    provenance: z.record(z.string(), z.unknown()).default({}),
  })
  .refine((p) => p.calibration.model.weights.length === calibrationInputNames(p.calibration).length, {
    message:
      'calibration weights must match its inputs: the card-history inputs, the context inputs when it has a context, +1 with the model',
    path: ['calibration', 'model', 'weights'],
  });
export type ScoringPolicyFile = z.infer<typeof ScoringPolicyFile>;

/** The policy shipped with fraudflow, tuned on a labelled synthetic backtest (docs/quality.md). */
export const defaultPolicyPath = path.join(__dirname, 'policies', 'default.json');

export interface LoadedPolicy {
  file: string;
  policy: ScoringPolicyFile;
  /** sha256 of the file's bytes, first 16 hex digits. */
  hash: string;
}

/** Thrown when a policy file is missing or does not parse; the message names the file and the problem. */
export class PolicyFileError extends Error {
  override name = 'PolicyFileError';
}

export function loadPolicyFile(file: string = defaultPolicyPath): LoadedPolicy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyFileError(`scoring policy ${file} cannot be read (${(err as Error).message}); run fraudflow tune`);
  }
  return {
    file,
    policy: parsePolicyText(text, file),
    hash: createHash('sha256').update(text).digest('hex').slice(0, 16),
  };
}

/** The decision thresholds a policy file sets, named as the scoring workflow reads them. */
export function policyThresholds(policy: ScoringPolicyFile) {
  const t = policy.thresholds;
  return {
    approveBelow: t.reviewAt,
    declineAt: t.declineAt,
    // An empty escalation band is low 1, high 0: no probability is inside it.
    ambiguousLow: t.escalation?.low ?? 1,
    ambiguousHigh: t.escalation?.high ?? 0,
    minConfidence: t.minConfidence,
    hostedReviewAt: t.hosted.reviewAt,
    hostedDeclineAt: t.hosted.declineAt,
    hostedMode: t.hosted.mode,
  };
}

/**
 * The decision policy a model scores under: `base` (the settings' policy: escalation switch, rules) with the policy
 * file's thresholds over it, as a promoted champion and a challenger in shadow both decide.
 */
export function policyWithThresholds(base: ScoringPolicy, policy: ScoringPolicyFile): ScoringPolicy {
  return { ...base, ...policyThresholds(policy) };
}

/** A policy file's text, parsed and validated; `name` says which policy in errors. */
export function parsePolicyText(text: string, name: string): ScoringPolicyFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PolicyFileError(`scoring policy ${name} is not JSON: ${(err as Error).message}`);
  }
  const parsed = ScoringPolicyFile.safeParse(json);
  if (!parsed.success)
    throw new PolicyFileError(`scoring policy ${name} is invalid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function writePolicyFile(file: string, policy: ScoringPolicyFile): LoadedPolicy {
  const text = `${JSON.stringify(policy, null, 1)}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return loadPolicyFile(file);
}
