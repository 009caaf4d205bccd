/**
 * The answer fraudflow asks every model for. Model output is untrusted input: it is parsed with this schema,
 * and the same shape is sent as the JSON-schema response format.
 */
import { z } from 'zod';

export const RiskAssessment = z.object({
  /** Probability-like fraud risk, 0 (clean) to 1 (certain fraud). */
  riskScore: z.number().min(0).max(1),
  /** The model's confidence in its own score, 0..1. */
  confidence: z.number().min(0).max(1),
  reasons: z.array(z.string().max(300)).max(5),
});
export type RiskAssessment = z.infer<typeof RiskAssessment>;

/** JSON Schema sent as `response_format` to hosted models (kept in step with RiskAssessment by a test). */
export const riskAssessmentJsonSchema = {
  type: 'object',
  properties: {
    riskScore: { type: 'number', minimum: 0, maximum: 1 },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    reasons: { type: 'array', items: { type: 'string' }, maxItems: 5 },
  },
  required: ['riskScore', 'confidence', 'reasons'],
  additionalProperties: false,
} as const;

/** 0, 0.05, ..., 1: the score scale offered to the local model. */
export const localScoreGrid: readonly number[] = Array.from({ length: 21 }, (_, i) => Math.round(i * 5) / 100);

/**
 * The local model's response schema. Ollama turns a JSON schema into a decoding grammar, but that grammar ignores
 * `minimum`/`maximum`: a small model then answers `"riskScore": 5`. An `enum` is enforced, so the local tier
 * scores on a 0.05 grid and every answer is in range by construction.
 */
export const localRiskAssessmentJsonSchema = {
  ...riskAssessmentJsonSchema,
  properties: {
    ...riskAssessmentJsonSchema.properties,
    riskScore: { type: 'number', enum: localScoreGrid },
    confidence: { type: 'number', enum: localScoreGrid },
    reasons: { type: 'array', items: { type: 'string', maxLength: 80 }, maxItems: 2 },
  },
} as const;
