import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config';
import {
  localRiskAssessmentJsonSchema,
  localScoreGrid,
  RiskAssessment,
  riskAssessmentJsonSchema,
} from '../../src/schemas/risk-assessment';

describe('local model', () => {
  const config = loadConfig();
  const client = new OpenAI({ baseURL: config.localModel.baseURL, apiKey: config.localModel.apiKey, maxRetries: 0 });

  it('answers a chat completion in the requested JSON schema, which zod accepts', async () => {
    const completion = await client.chat.completions.create({
      model: config.localModel.model,
      messages: [
        { role: 'system', content: 'You are a card-fraud analyst. Answer only with JSON.' },
        { role: 'user', content: 'Transaction: 12.40 USD at Corner Grocery (MCC 5411, US), card present, home city.' },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'risk_assessment', strict: true, schema: localRiskAssessmentJsonSchema },
      },
      temperature: 0,
      max_tokens: 200,
    });
    expect(completion.model).toBe(config.localModel.model);
    const content = completion.choices[0]?.message?.content ?? '';
    const parsed = RiskAssessment.safeParse(JSON.parse(content));
    expect(parsed.success, parsed.success ? '' : z.prettifyError(parsed.error)).toBe(true);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(10);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('cannot answer outside the 0..1 range when offered the local score grid', async () => {
    const answers = await Promise.all(
      [
        '0.99 USD at DigitalCodes (MCC 5818), 25 attempts this hour',
        '4,999 USD at Electro World (MCC 5732, NG), new device',
      ].map(async (t) => {
        const c = await client.chat.completions.create({
          model: config.localModel.model,
          messages: [{ role: 'user', content: `Rate the fraud risk of: ${t}` }],
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'risk_assessment', strict: true, schema: localRiskAssessmentJsonSchema },
          },
          temperature: 0,
          max_tokens: 200,
        });
        return RiskAssessment.parse(JSON.parse(c.choices[0]?.message?.content ?? ''));
      }),
    );
    for (const a of answers) {
      expect(localScoreGrid).toContain(a.riskScore);
      expect(localScoreGrid).toContain(a.confidence);
    }
  });

  it('is the quantized SmolLM2 GGUF the stack imported', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(config.localModel.model);
    const res = await fetch(`http://${config.env.OLLAMA_HOST}/api/show`, {
      method: 'POST',
      body: JSON.stringify({ model: config.localModel.model }),
    });
    const show = (await res.json()) as { details?: { quantization_level?: string; format?: string } };
    expect(show.details).toMatchObject({ format: 'gguf', quantization_level: 'Q4_1' });
  });

  it('keeps the JSON schema sent to models in step with the RiskAssessment contract', () => {
    const fromZod = z.toJSONSchema(RiskAssessment) as { required?: string[]; properties?: Record<string, unknown> };
    expect(Object.keys(riskAssessmentJsonSchema.properties).sort()).toEqual(
      Object.keys(fromZod.properties ?? {}).sort(),
    );
    expect([...riskAssessmentJsonSchema.required].sort()).toEqual([...(fromZod.required ?? [])].sort());
  });
});
