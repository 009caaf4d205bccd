/**
 * A model's generated RiskAssessment: one chat completion with the JSON-schema response format, parsed as the
 * untrusted input it is. Failures leave as typed Temporal failures (src/errors.ts). Shared by the scoring
 * activities and `fraudflow tune`, so tuning measures a provider exactly as scoring calls it.
 */
import { z } from 'zod';
import { classifyModelError, InvalidModelOutputError } from '../errors';
import type { ModelErrorContext } from '../errors';
import { localRiskAssessmentJsonSchema, RiskAssessment, riskAssessmentJsonSchema } from '../schemas/risk-assessment';
import type { ChatMessage } from '../scoring/prompt';
import type { ModelTarget } from './clients';

/** Most answers are ~40 tokens; the cap bounds cost and latency when a model rambles. */
export const maxAnswerTokens = 200;

/** A generated RiskAssessment from a chat completion, parsed and validated; failures leave as typed failures. */
export async function generateAssessment(
  target: ModelTarget,
  messages: ChatMessage[],
  context: ModelErrorContext,
  signal?: AbortSignal,
): Promise<{ assessment: RiskAssessment; model: string; inputTokens: number; outputTokens: number }> {
  let completion;
  try {
    completion = await target.client.chat.completions.create(
      {
        model: target.model,
        messages,
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'risk_assessment',
            strict: true,
            schema: target.constrainedScores ? localRiskAssessmentJsonSchema : riskAssessmentJsonSchema,
          },
        },
        temperature: 0,
        max_tokens: maxAnswerTokens,
      },
      { signal },
    );
  } catch (err) {
    throw classifyModelError(err, context).toApplicationFailure();
  }
  return {
    assessment: parseAssessment(completion.choices[0]?.message?.content ?? '', context),
    model: completion.model || target.model,
    inputTokens: completion.usage?.prompt_tokens ?? 0,
    outputTokens: completion.usage?.completion_tokens ?? 0,
  };
}

/** An LLM's answer is untrusted input: parse JSON, then the schema; either failure is InvalidModelOutput. */
function parseAssessment(content: string, context: ModelErrorContext): RiskAssessment {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    throw new InvalidModelOutputError(
      `${context.provider} answered non-JSON: ${content.slice(0, 200)}`,
      context,
    ).toApplicationFailure();
  }
  const parsed = RiskAssessment.safeParse(json);
  if (!parsed.success) {
    throw new InvalidModelOutputError(
      `${context.provider} answered JSON that is not a RiskAssessment:\n${z.prettifyError(parsed.error)}`,
      context,
    ).toApplicationFailure();
  }
  return parsed.data;
}
