import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  AuthenticationError,
  InternalServerError,
  RateLimitError,
} from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RiskAssessment, riskAssessmentJsonSchema } from '../../src/schemas/risk-assessment';
import { deterministicEmbedding, startHostedTestServer } from '../../src/testing/hosted-provider';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { caught } from '../support/caught';

const API_KEY = 'sk-test-hosted-secret-7f3a';
const MODEL = 'frontier-test-model';

describe('hosted test server', () => {
  let server: HostedTestServer;
  let client: OpenAI;

  beforeAll(async () => {
    server = await startHostedTestServer({ apiKey: API_KEY, model: MODEL });
    client = new OpenAI({ baseURL: server.baseURL, apiKey: API_KEY, maxRetries: 0 });
  });
  afterEach(() => server.reset());
  afterAll(async () => {
    await server.close();
  });

  /** The request fraudflow makes: the risk schema as a strict JSON-schema response format. */
  function scoreRequest(prompt: string) {
    return {
      model: MODEL,
      messages: [
        { role: 'system' as const, content: 'You score card transactions for fraud. Answer in JSON.' },
        { role: 'user' as const, content: prompt },
      ],
      response_format: {
        type: 'json_schema' as const,
        json_schema: { name: 'risk_assessment', schema: riskAssessmentJsonSchema, strict: true },
      },
    };
  }

  it('scripted answer arrives as a RiskAssessment with usage and the model echoed', async () => {
    server.setBehaviour(() => ({ kind: 'answer', riskScore: 0.91, confidence: 0.8, reasons: ['card-testing burst'] }));

    const completion = await client.chat.completions.create(scoreRequest('txn 42: 17 declines in 60s'));

    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('stop');
    const parsed = RiskAssessment.safeParse(JSON.parse(choice?.message.content ?? ''));
    expect(parsed.success && parsed.data).toEqual({
      riskScore: 0.91,
      confidence: 0.8,
      reasons: ['card-testing burst'],
    });
    expect(completion.model).toBe(MODEL);
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBe(Math.ceil((choice?.message.content ?? '').length / 4));
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
  });

  it('TESTSCORE and TESTCONF markers in the prompt set the default answer', async () => {
    const marked = await client.chat.completions.create(scoreRequest('txn 7 TESTSCORE=0.83 TESTCONF=0.25'));
    const unmarked = await client.chat.completions.create(scoreRequest('txn 8, nothing special'));

    expect(JSON.parse(marked.choices[0]?.message.content ?? '')).toMatchObject({ riskScore: 0.83, confidence: 0.25 });
    expect(JSON.parse(unmarked.choices[0]?.message.content ?? '')).toMatchObject({ riskScore: 0.5, confidence: 0.5 });
  });

  it('raw content is returned verbatim', async () => {
    server.setBehaviour((_req, n) => ({ kind: 'raw', content: n === 1 ? 'not json' : '{"riskScore": 7}' }));

    const first = await client.chat.completions.create(scoreRequest('txn 1'));
    const second = await client.chat.completions.create(scoreRequest('txn 2'));

    expect(first.choices[0]?.message.content).toBe('not json');
    expect(second.choices[0]?.message.content).toBe('{"riskScore": 7}');
  });

  it('429 with retry-after surfaces as RateLimitError carrying the header', async () => {
    server.setBehaviour(() => ({ kind: 'status', status: 429, retryAfterSeconds: 12 }));

    const err = await caught(client.chat.completions.create(scoreRequest('txn 3')));

    expect(err).toBeInstanceOf(RateLimitError);
    const rateLimited = err as RateLimitError;
    expect(rateLimited.status).toBe(429);
    expect(rateLimited.headers.get('retry-after')).toBe('12');
    expect(rateLimited.code).toBe('rate_limit_exceeded');
    expect(server.callCount('/v1/chat/completions')).toBe(1);
  });

  it('request without the API key surfaces as AuthenticationError', async () => {
    const keyless = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-wrong', maxRetries: 0 });

    const err = await caught(keyless.chat.completions.create(scoreRequest('txn 4')));

    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).code).toBe('invalid_api_key');
  });

  it('hang surfaces as APIConnectionTimeoutError after the SDK timeout', async () => {
    server.setBehaviour(() => ({ kind: 'hang' }));
    const impatient = new OpenAI({ baseURL: server.baseURL, apiKey: API_KEY, maxRetries: 0, timeout: 300 });
    const started = Date.now();

    const err = await caught(impatient.chat.completions.create(scoreRequest('txn 5')));

    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('reset surfaces as APIConnectionError', async () => {
    server.setBehaviour(() => ({ kind: 'reset' }));

    const err = await caught(client.chat.completions.create(scoreRequest('txn 6')));

    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).not.toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('answer latency delays the response', async () => {
    server.setBehaviour(() => ({ kind: 'answer', riskScore: 0.1, confidence: 0.9, latencyMs: 200 }));
    const started = Date.now();

    const completion = await client.chat.completions.create(scoreRequest('txn 9'));

    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
    expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toEqual({
      riskScore: 0.1,
      confidence: 0.9,
      reasons: [],
    });
  });

  it('streaming requests are refused with 400', async () => {
    const err = await caught(client.chat.completions.create({ ...scoreRequest('txn 10'), stream: true }));

    expect(err).toMatchObject({ status: 400 });
  });

  it('GET /v1/models lists the configured model', async () => {
    const models = await client.models.list();

    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    expect(server.callCount('/v1/models')).toBe(1);
  });

  it('captured requests hold the prompt and never the Authorization value', async () => {
    await client.chat.completions.create(scoreRequest('txn 11 merchant=acme TESTSCORE=0.2'));

    expect(server.requests).toHaveLength(1);
    const captured = server.requests[0];
    expect(captured?.method).toBe('POST');
    expect(captured?.path).toBe('/v1/chat/completions');
    expect(captured?.body).toMatchObject({
      model: MODEL,
      messages: [{ role: 'system' }, { role: 'user', content: 'txn 11 merchant=acme TESTSCORE=0.2' }],
      response_format: { type: 'json_schema', json_schema: { name: 'risk_assessment', strict: true } },
    });
    expect(captured?.headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(server.requests)).not.toContain(API_KEY);
  });

  describe('embeddings', () => {
    /** The request the local first pass makes (src/models/first-pass.ts). */
    function embed(input: string | string[], sdk: OpenAI = client) {
      return sdk.embeddings.create({ model: MODEL, input, encoding_format: 'float' });
    }

    const norm = (v: number[]) => Math.hypot(...v);

    it('answer a 576-dimensional unit vector from the input text: equal texts equal vectors, others not', async () => {
      const first = await embed('$42.50 Corner Grocery grocery_pos US card_present');
      const again = await embed('$42.50 Corner Grocery grocery_pos US card_present');
      const other = await embed('$4,250.00 Gift Cards Online misc_net NG card_not_present');

      const vector = first.data[0]?.embedding ?? [];
      expect(vector).toHaveLength(576);
      expect(vector.every(Number.isFinite)).toBe(true);
      expect(norm(vector)).toBeCloseTo(1, 5);
      expect(again.data[0]?.embedding).toEqual(vector);
      expect(other.data[0]?.embedding).toHaveLength(576);
      expect(other.data[0]?.embedding).not.toEqual(vector);
      expect(vector).toEqual(deterministicEmbedding('$42.50 Corner Grocery grocery_pos US card_present', 576));
      expect(first).toMatchObject({ object: 'list', model: MODEL, data: [{ object: 'embedding', index: 0 }] });
      expect(first.usage.prompt_tokens).toBe(Math.ceil('$42.50 Corner Grocery grocery_pos US card_present'.length / 4));
      expect(first.usage.total_tokens).toBe(first.usage.prompt_tokens);
      expect(server.callCount('/v1/embeddings')).toBe(3);
      expect(server.callCount('/v1/chat/completions')).toBe(0);
    });

    it('embeddingDimensions sets the length; several inputs get one vector each, in order', async () => {
      const small = await startHostedTestServer({ embeddingDimensions: 8 });
      try {
        const sdk = new OpenAI({ baseURL: small.baseURL, apiKey: 'unused', maxRetries: 0 });

        const answer = await embed(['txn a', 'txn b', 'txn a'], sdk);

        expect(answer.data.map((d) => d.index)).toEqual([0, 1, 2]);
        expect(answer.data.map((d) => d.embedding.length)).toEqual([8, 8, 8]);
        expect(answer.data[2]?.embedding).toEqual(answer.data[0]?.embedding);
        expect(answer.data[1]?.embedding).not.toEqual(answer.data[0]?.embedding);
        expect(small.callCount('/v1/embeddings')).toBe(1);
      } finally {
        await small.close();
      }
      await expect(startHostedTestServer({ embeddingDimensions: 0 })).rejects.toThrow(RangeError);
    });

    it("the SDK's default base64 encoding decodes to the same vector as float", async () => {
      const asFloat = await embed('txn base64');
      const asBase64 = await client.embeddings.create({ model: MODEL, input: 'txn base64' });

      const decoded = asBase64.data[0]?.embedding ?? [];
      expect(decoded).toHaveLength(576);
      (asFloat.data[0]?.embedding ?? []).forEach((x, i) => expect(decoded[i]).toBeCloseTo(x, 6));
    });

    it('behaviours see the embeddings request: its text, its endpoint, and n counted with chat requests', async () => {
      const seen: Array<{ endpoint: string; text: string; n: number }> = [];
      server.setBehaviour((req, n) => {
        seen.push({ endpoint: req.endpoint, text: req.lastUserText, n });
        return { kind: 'answer', riskScore: 0.2, confidence: 0.9 };
      });

      await client.chat.completions.create(scoreRequest('txn 12'));
      await embed('txn 13 embedded');

      expect(seen).toEqual([
        { endpoint: 'chat', text: 'txn 12', n: 1 },
        { endpoint: 'embeddings', text: 'txn 13 embedded', n: 2 },
      ]);
      expect(server.requests.at(-1)?.body).toMatchObject({ model: MODEL, input: 'txn 13 embedded' });
    });

    it('status, hang and reset fail embeddings requests as they fail chat completions', async () => {
      const impatient = new OpenAI({ baseURL: server.baseURL, apiKey: API_KEY, maxRetries: 0, timeout: 300 });
      server.setBehaviour((_req, n) =>
        n === 1
          ? { kind: 'status', status: 429, retryAfterSeconds: 3 }
          : n === 2
            ? { kind: 'status', status: 503 }
            : n === 3
              ? { kind: 'hang' }
              : { kind: 'reset' },
      );

      const rateLimited = await caught(embed('txn 14'));
      const unavailable = await caught(embed('txn 15'));
      const hung = await caught(embed('txn 16', impatient));
      const reset = await caught(embed('txn 17'));

      expect(rateLimited).toBeInstanceOf(RateLimitError);
      expect((rateLimited as RateLimitError).headers.get('retry-after')).toBe('3');
      expect(unavailable).toBeInstanceOf(InternalServerError);
      expect((unavailable as InternalServerError).status).toBe(503);
      expect(hung).toBeInstanceOf(APIConnectionTimeoutError);
      expect(reset).toBeInstanceOf(APIConnectionError);
      expect(reset).not.toBeInstanceOf(APIConnectionTimeoutError);
      expect(server.callCount('/v1/embeddings')).toBe(4);
    });

    it('raw answers an empty embedding and embedding answers exactly the scripted values', async () => {
      server.setBehaviour((_req, n) =>
        n === 1 ? { kind: 'raw', content: 'ignored' } : { kind: 'embedding', embedding: [0.1, null, 'x'] },
      );

      const empty = await embed('txn 18');
      const scripted = await embed('txn 19');
      const onChat = await caught(client.chat.completions.create(scoreRequest('txn 20')));

      expect(empty.data[0]?.embedding).toEqual([]);
      expect(scripted.data[0]?.embedding).toEqual([0.1, null, 'x']);
      expect(onChat).toBeInstanceOf(InternalServerError);
      expect((onChat as InternalServerError).message).toMatch(/only applies to embeddings/);
    });

    it('answer latency delays the embedding', async () => {
      server.setBehaviour(() => ({ kind: 'answer', riskScore: 0.1, confidence: 0.9, latencyMs: 200 }));
      const started = Date.now();

      const answer = await embed('txn 21');

      expect(Date.now() - started).toBeGreaterThanOrEqual(180);
      expect(answer.data[0]?.embedding).toEqual(deterministicEmbedding('txn 21', 576));
    });

    it('an embeddings request without input is refused with 400', async () => {
      const err = await caught(client.post('/embeddings', { body: { model: MODEL } }));

      expect(err).toMatchObject({ status: 400 });
      expect((err as Error).message).toMatch(/Invalid embeddings request/);
    });
  });
});
