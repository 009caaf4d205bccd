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

/** A JSON Schema for `response_format`, generated from a zod contract so the two cannot drift. */
export interface ResponseSchema extends Record<string, unknown> {
  properties: Record<string, unknown>;
  required: string[];
}

function responseSchema(contract: z.ZodType, opts: { keepStringLengths: boolean }): ResponseSchema {
  const { $schema: _, ...json } = z.toJSONSchema(contract, {
    target: 'draft-7',
    // Strict structured outputs of hosted providers reject `maxLength`; parsing the answer still enforces it.
    override: ({ jsonSchema }) => {
      if (!opts.keepStringLengths) delete jsonSchema.maxLength;
    },
  });
  if (!json.properties || !json.required) throw new Error('a response schema must be an object with properties');
  return { ...json, properties: json.properties, required: json.required };
}

/** JSON Schema sent as `response_format` to hosted models. */
export const riskAssessmentJsonSchema = responseSchema(RiskAssessment, { keepStringLengths: false });

/** 0, 0.05, ..., 1: the score scale offered to the local model. */
export const localScoreGrid: readonly number[] = Array.from({ length: 21 }, (_, i) => Math.round(i * 5) / 100);

/**
 * The local model's answer. Ollama turns a JSON schema into a decoding grammar, but that grammar ignores
 * `minimum`/`maximum`: a small model then answers `"riskScore": 5`. An `enum` is enforced, so the local tier
 * scores on a 0.05 grid and every answer is in range by construction.
 */
export const LocalRiskAssessment = RiskAssessment.extend({
  riskScore: z.literal([...localScoreGrid]),
  confidence: z.literal([...localScoreGrid]),
  reasons: z.array(z.string().max(80)).max(2),
});

/** The local model's response schema, with the grid as enums and short reasons. */
export const localRiskAssessmentJsonSchema = responseSchema(LocalRiskAssessment, { keepStringLengths: true });
