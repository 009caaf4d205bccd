import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  AuthenticationError,
  InternalServerError,
  RateLimitError,
} from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { RiskAssessment } from '../../src/schemas/risk-assessment';
import { startFaultProxy } from './fault-proxy';
import type { FaultProxy, FaultProxyOptions } from './fault-proxy';
import { deterministicEmbedding, startHostedTestServer } from './hosted-test-server';
import type { HostedTestServer } from './hosted-test-server';

const API_KEY = 'sk-test-fault-proxy-2b9e';
const MODEL = 'frontier-test-model';
const CHAT_PATH = '/v1/chat/completions';
const EMBEDDINGS_PATH = '/v1/embeddings';

describe('fault proxy', () => {
  let hosted: HostedTestServer;
  let upstream: string;
  const proxies: FaultProxy[] = [];

  beforeAll(async () => {
    hosted = await startHostedTestServer({ apiKey: API_KEY, model: MODEL });
    upstream = new URL(hosted.baseURL).origin;
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    hosted.reset();
  });
  afterAll(async () => {
    await hosted.close();
  });

  /** A proxy in front of the hosted test server, closed after the test, and an SDK client that never retries. */
  async function proxyToHosted(opts: Omit<FaultProxyOptions, 'upstream'> = {}) {
    const proxy = await startFaultProxy({ upstream, ...opts });
    proxies.push(proxy);
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    return { proxy, client };
  }

  function score(client: OpenAI, prompt = 'txn 1 TESTSCORE=0.3 TESTCONF=0.9', options?: { timeout?: number }) {
    return client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: prompt }] },
      options?.timeout === undefined ? undefined : { timeout: options.timeout },
    );
  }

  async function caught(promise: Promise<unknown>): Promise<unknown> {
    try {
      await promise;
    } catch (err) {
      return err;
    }
    throw new Error('expected the request to fail');
  }

  function isRiskAssessment(content: string | null | undefined): boolean {
    try {
      return RiskAssessment.safeParse(JSON.parse(content ?? '')).success;
    } catch {
      return false;
    }
  }

  /** The local first pass's request (src/models/first-pass.ts). */
  function embed(client: OpenAI, input = 'txn 1 $42.50 Corner Grocery', options?: { timeout?: number }) {
    return client.embeddings.create(
      { model: MODEL, input, encoding_format: 'float' },
      options?.timeout === undefined ? undefined : { timeout: options.timeout },
    );
  }

  /** What the scoring activity accepts (activities/model-scoring.ts): a non-empty vector of finite numbers. */
  function isUsableEmbedding(embedding: unknown[] | undefined): boolean {
    return embedding !== undefined && embedding.length > 0 && embedding.every(Number.isFinite);
  }

  const noFaults = { serverError: 0, rateLimit: 0, hang: 0, reset: 0, malformed: 0, slow: 0 };

  it('with every rate at 0, chat completions are forwarded untouched, Authorization and SDK headers included', async () => {
    const { proxy, client } = await proxyToHosted({ faults: noFaults });

    const answers = [];
    for (let i = 0; i < 20; i += 1) {
      answers.push(await score(client, `txn ${i} TESTSCORE=0.${i % 10} TESTCONF=0.8`).withResponse());
    }

    expect(answers.map(({ data }) => JSON.parse(data.choices[0]?.message.content ?? '') as unknown)).toEqual(
      Array.from({ length: 20 }, (_, i) => ({
        riskScore: (i % 10) / 10,
        confidence: 0.8,
        reasons: [`TESTSCORE marker 0.${i % 10}`],
      })),
    );
    // Upstream response headers come back: the SDK reads the test server's request id.
    expect(answers.every(({ request_id }) => /^req_test_\d+$/.test(request_id ?? ''))).toBe(true);
    expect(hosted.callCount(CHAT_PATH)).toBe(20);
    expect(proxy.counts).toEqual({ ...noFaults, forwarded: 20 });
    const seen = hosted.requests.at(-1)?.headers ?? {};
    expect(seen.authorization).toBe('[redacted]');
    expect(seen.host).toBe(new URL(upstream).host);
    expect(seen['x-stainless-lang']).toBe('js');
    expect(seen['content-type']).toBe('application/json');
  });

  it('a wrong API key reaches the upstream unchanged and its 401 comes back as an AuthenticationError', async () => {
    const { proxy } = await proxyToHosted();
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });

    const err = await caught(score(client));

    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).status).toBe(401);
    expect(hosted.callCount(CHAT_PATH)).toBe(1);
  });

  it('GET /v1/models is forwarded untouched even when every chat request would fail', async () => {
    const { proxy, client } = await proxyToHosted({ faults: { serverError: 1 } });

    const models = await client.models.list();
    const chat = await caught(score(client));

    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    expect(hosted.callCount('/v1/models')).toBe(1);
    expect(chat).toBeInstanceOf(InternalServerError);
    expect(hosted.callCount(CHAT_PATH)).toBe(0);
    expect(proxy.counts).toMatchObject({ serverError: 1, forwarded: 0 });
  });

  it("serverError answers 500 with an OpenAI error body or Ollama's busy 503, both an InternalServerError", async () => {
    const { proxy, client } = await proxyToHosted();
    proxy.forceNext('serverError', 12);

    const errors: unknown[] = [];
    for (let i = 0; i < 12; i += 1) errors.push(await caught(score(client)));

    expect(errors.every((err) => err instanceof InternalServerError)).toBe(true);
    const byStatus = (status: number) => errors.filter((err) => (err as InternalServerError).status === status);
    expect(byStatus(500).length + byStatus(503).length).toBe(12);
    expect(byStatus(500).length).toBeGreaterThan(0);
    expect(byStatus(503).length).toBeGreaterThan(0);
    expect((byStatus(500)[0] as InternalServerError).error).toMatchObject({ type: 'server_error' });
    expect((byStatus(503)[0] as InternalServerError).error).toBe(
      'server busy, please try again. maximum pending requests exceeded',
    );
    expect(hosted.callCount(CHAT_PATH)).toBe(0);
    expect(proxy.counts.serverError).toBe(12);
  });

  it('rateLimit answers 429 with retry-after, a RateLimitError; 1 s by default, retryAfterSeconds when set', async () => {
    const { proxy: defaults, client: defaultClient } = await proxyToHosted({ faults: { rateLimit: 1 } });
    const { proxy: configured, client: configuredClient } = await proxyToHosted({
      faults: { rateLimit: 1 },
      retryAfterSeconds: 7,
    });

    const first = await caught(score(defaultClient));
    const second = await caught(score(configuredClient));

    expect(first).toBeInstanceOf(RateLimitError);
    expect(second).toBeInstanceOf(RateLimitError);
    expect((first as RateLimitError).status).toBe(429);
    expect((first as RateLimitError).headers.get('retry-after')).toBe('1');
    expect((second as RateLimitError).headers.get('retry-after')).toBe('7');
    expect((first as RateLimitError).error).toMatchObject({ code: 'rate_limit_exceeded' });
    expect(defaults.counts.rateLimit + configured.counts.rateLimit).toBe(2);
    expect(hosted.callCount(CHAT_PATH)).toBe(0);
  });

  it('hang never answers: the SDK gives up with an APIConnectionTimeoutError and the proxy keeps serving', async () => {
    const { proxy, client } = await proxyToHosted();
    proxy.forceNext('hang');

    const started = Date.now();
    const err = await caught(score(client, 'txn hang', { timeout: 300 }));
    const waited = Date.now() - started;
    const next = await score(client);

    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(isRiskAssessment(next.choices[0]?.message.content)).toBe(true);
    expect(proxy.counts).toMatchObject({ hang: 1, forwarded: 1 });
    expect(hosted.callCount(CHAT_PATH)).toBe(1);
  });

  it('close() ends a hanging request at once with a connection error', async () => {
    const { proxy, client } = await proxyToHosted();
    proxy.forceNext('hang');

    const started = Date.now();
    const pending = caught(score(client, 'txn hang', { timeout: 60_000 }));
    while (proxy.counts.hang === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await proxy.close();
    const err = await pending;

    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).not.toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reset destroys the socket without a response: an APIConnectionError', async () => {
    const { proxy, client } = await proxyToHosted();
    proxy.forceNext('reset');

    const err = await caught(score(client));
    const next = await score(client);

    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err).not.toBeInstanceOf(APIConnectionTimeoutError);
    expect(isRiskAssessment(next.choices[0]?.message.content)).toBe(true);
    expect(proxy.counts).toMatchObject({ reset: 1, forwarded: 1 });
  });

  it('malformed keeps the 200 completion but its content is not JSON or fails the RiskAssessment contract', async () => {
    const { proxy, client } = await proxyToHosted();
    proxy.forceNext('malformed', 10);

    const completions = [];
    for (let i = 0; i < 10; i += 1) completions.push(await score(client, `txn ${i} TESTSCORE=0.4`));
    const healthy = await score(client, 'txn 11 TESTSCORE=0.4');

    const contents = completions.map((c) => c.choices[0]?.message.content);
    expect(contents.filter(isRiskAssessment)).toEqual([]);
    expect(new Set(contents).size).toBeGreaterThan(2);
    expect(completions.every((c) => /^chatcmpl-test-/.test(c.id) && c.choices[0]?.finish_reason === 'stop')).toBe(true);
    expect(isRiskAssessment(healthy.choices[0]?.message.content)).toBe(true);
    expect(hosted.callCount(CHAT_PATH)).toBe(11);
    expect(proxy.counts).toMatchObject({ malformed: 10, forwarded: 1 });
  });

  it('slow forwards the request after slowMs and the answer arrives intact', async () => {
    const { proxy, client } = await proxyToHosted({ slowMs: 400 });
    proxy.forceNext('slow');

    const started = Date.now();
    const completion = await score(client, 'txn slow TESTSCORE=0.65 TESTCONF=0.7');
    const waited = Date.now() - started;

    expect(waited).toBeGreaterThanOrEqual(400);
    expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toMatchObject({
      riskScore: 0.65,
      confidence: 0.7,
    });
    expect(proxy.counts).toMatchObject({ slow: 1, forwarded: 0 });
  });

  it('a client that gives up while a slow request is held never reaches the upstream', async () => {
    const { proxy, client } = await proxyToHosted({ slowMs: 400 });
    proxy.forceNext('slow');

    const err = await caught(score(client, 'txn slow', { timeout: 100 }));
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(hosted.callCount(CHAT_PATH)).toBe(0);
    expect(proxy.counts.slow).toBe(1);
  });

  it('forceNext overrides the rates for the next n requests, in the order asked', async () => {
    const { proxy, client } = await proxyToHosted({ faults: { serverError: 1 } });
    proxy.forceNext('rateLimit', 2);
    proxy.forceNext('forwarded');

    const outcomes = [];
    for (let i = 0; i < 4; i += 1) {
      outcomes.push(
        await score(client).then(
          () => 200,
          (err: unknown) => (err as InternalServerError).status,
        ),
      );
    }

    expect(outcomes.slice(0, 3)).toEqual([429, 429, 200]);
    expect([500, 503]).toContain(outcomes[3]);
  });

  it('setFaults rejects rates outside 0..1, unknown kinds and rates adding up to more than 1', async () => {
    const { proxy, client } = await proxyToHosted({ faults: { reset: 1 } });

    expect(() => proxy.setFaults({ hang: 1.5 })).toThrow(RangeError);
    expect(() => proxy.setFaults({ slow: -0.1 })).toThrow(RangeError);
    expect(() => proxy.setFaults({ serverError: 0.6, rateLimit: 0.5 })).toThrow(/add up/);
    expect(() => proxy.setFaults({ timeout: 0.1 } as never)).toThrow(/unknown fault kind/);
    // A rejected call leaves the previous rates in place.
    expect(await caught(score(client))).toBeInstanceOf(APIConnectionError);
    proxy.setFaults({});
    expect(isRiskAssessment((await score(client)).choices[0]?.message.content)).toBe(true);
  });

  it('0.2 rates over 500 requests fault about a fifth each, and the same seed replays the same sequence', async () => {
    async function run(seed: number) {
      const { proxy, client } = await proxyToHosted({ seed, faults: { serverError: 0.2, rateLimit: 0.2 } });
      const outcomes: number[] = [];
      for (let i = 0; i < 500; i += 1) {
        outcomes.push(
          await score(client).then(
            () => 200,
            (err: unknown) => (err as InternalServerError | RateLimitError).status,
          ),
        );
      }
      return { outcomes, counts: proxy.counts };
    }

    const first = await run(42);
    const replay = await run(42);
    const other = await run(7);

    const share = (status: number[]) => first.outcomes.filter((s) => status.includes(s)).length / 500;
    expect(share([500, 503])).toBeGreaterThan(0.15);
    expect(share([500, 503])).toBeLessThan(0.25);
    expect(share([429])).toBeGreaterThan(0.15);
    expect(share([429])).toBeLessThan(0.25);
    expect(first.counts).toEqual({
      ...noFaults,
      serverError: first.outcomes.filter((s) => s === 500 || s === 503).length,
      rateLimit: first.outcomes.filter((s) => s === 429).length,
      forwarded: first.outcomes.filter((s) => s === 200).length,
    });
    expect(replay.outcomes).toEqual(first.outcomes);
    expect(other.outcomes).not.toEqual(first.outcomes);
  });

  describe('embeddings requests', () => {
    it('with every rate at 0 are forwarded untouched and counted like chat completions', async () => {
      const { proxy, client } = await proxyToHosted({ faults: noFaults });

      const answers = [];
      for (let i = 0; i < 5; i += 1) answers.push(await embed(client, `txn ${i}`));
      const chat = await score(client);

      expect(answers.map((a) => a.data[0]?.embedding)).toEqual(
        Array.from({ length: 5 }, (_, i) => deterministicEmbedding(`txn ${i}`, 576)),
      );
      expect(isRiskAssessment(chat.choices[0]?.message.content)).toBe(true);
      expect(hosted.callCount(EMBEDDINGS_PATH)).toBe(5);
      expect(proxy.counts).toEqual({ ...noFaults, forwarded: 6 });
    });

    it('serverError, rateLimit and reset fail them before the upstream sees them', async () => {
      const { proxy, client } = await proxyToHosted({ retryAfterSeconds: 4 });
      proxy.forceNext('serverError', 6);
      proxy.forceNext('rateLimit');
      proxy.forceNext('reset');

      const serverErrors: unknown[] = [];
      for (let i = 0; i < 6; i += 1) serverErrors.push(await caught(embed(client)));
      const rateLimited = await caught(embed(client));
      const reset = await caught(embed(client));
      const healthy = await embed(client);

      expect(serverErrors.every((err) => err instanceof InternalServerError)).toBe(true);
      const statuses = serverErrors.map((err) => (err as InternalServerError).status);
      expect(statuses.every((status) => status === 500 || status === 503)).toBe(true);
      expect(rateLimited).toBeInstanceOf(RateLimitError);
      expect((rateLimited as RateLimitError).headers.get('retry-after')).toBe('4');
      expect(reset).toBeInstanceOf(APIConnectionError);
      expect(reset).not.toBeInstanceOf(APIConnectionTimeoutError);
      expect(isUsableEmbedding(healthy.data[0]?.embedding)).toBe(true);
      expect(hosted.callCount(EMBEDDINGS_PATH)).toBe(1);
      expect(proxy.counts).toEqual({ ...noFaults, serverError: 6, rateLimit: 1, reset: 1, forwarded: 1 });
    });

    it('hang holds one until the SDK gives up; slow forwards one intact after slowMs', async () => {
      const { proxy, client } = await proxyToHosted({ slowMs: 400 });
      proxy.forceNext('hang');
      proxy.forceNext('slow');

      const hung = await caught(embed(client, 'txn hang', { timeout: 300 }));
      const started = Date.now();
      const slow = await embed(client, 'txn slow');
      const waited = Date.now() - started;

      expect(hung).toBeInstanceOf(APIConnectionTimeoutError);
      expect(waited).toBeGreaterThanOrEqual(400);
      expect(slow.data[0]?.embedding).toEqual(deterministicEmbedding('txn slow', 576));
      expect(hosted.callCount(EMBEDDINGS_PATH)).toBe(1);
      expect(proxy.counts).toEqual({ ...noFaults, hang: 1, slow: 1, forwarded: 0 });
    });

    it('malformed keeps the 200 list but makes the embedding empty or non-numbers, both seen over a run', async () => {
      const { proxy, client } = await proxyToHosted({ seed: 3 });
      proxy.forceNext('malformed', 12);

      const answers = [];
      for (let i = 0; i < 12; i += 1) answers.push(await embed(client, `txn ${i}`));
      const healthy = await embed(client, 'txn 12');

      const embeddings: unknown[][] = answers.map((a) => a.data[0]?.embedding ?? []);
      expect(embeddings.filter((e) => isUsableEmbedding(e))).toEqual([]);
      const empty = embeddings.filter((e) => e.length === 0);
      const nonNumbers = embeddings.filter((e) => e.length === 576 && e.every((x) => typeof x !== 'number'));
      expect(empty.length).toBeGreaterThan(0);
      expect(nonNumbers.length).toBeGreaterThan(0);
      expect(empty.length + nonNumbers.length).toBe(12);
      expect(answers.every((a) => a.object === 'list' && a.model === MODEL && a.usage.prompt_tokens > 0)).toBe(true);
      expect(healthy.data[0]?.embedding).toEqual(deterministicEmbedding('txn 12', 576));
      expect(hosted.callCount(EMBEDDINGS_PATH)).toBe(13);
      expect(proxy.counts).toEqual({ ...noFaults, malformed: 12, forwarded: 1 });
    });

    it('malformed on an error answer passes the error through, counted as forwarded', async () => {
      const { proxy, client } = await proxyToHosted();
      hosted.setBehaviour(() => ({ kind: 'status', status: 400, message: 'input too long' }));
      proxy.forceNext('malformed');

      const err = await caught(embed(client));

      expect(err).toMatchObject({ status: 400 });
      expect(proxy.counts).toEqual({ ...noFaults, forwarded: 1 });
    });

    it('with the same seed and rates, embeddings and chat completions draw one reproducible sequence', async () => {
      async function run() {
        const { proxy, client } = await proxyToHosted({ seed: 5, faults: { serverError: 0.3, rateLimit: 0.3 } });
        const outcomes: number[] = [];
        for (let i = 0; i < 60; i += 1) {
          const call = i % 2 === 0 ? embed(client) : score(client);
          outcomes.push(
            await call.then(
              () => 200,
              (err: unknown) => (err as InternalServerError).status,
            ),
          );
        }
        return { outcomes, counts: proxy.counts };
      }

      const first = await run();
      const replay = await run();

      expect(replay.outcomes).toEqual(first.outcomes);
      expect(first.outcomes.filter((s) => s === 429).length).toBe(first.counts.rateLimit);
      expect(first.outcomes.filter((s) => s === 500 || s === 503).length).toBe(first.counts.serverError);
      expect(first.counts.rateLimit).toBeGreaterThan(5);
      expect(first.counts.serverError).toBeGreaterThan(5);
      // Faults land on both kinds of model call.
      const faulted = (parity: number) => first.outcomes.filter((s, i) => i % 2 === parity && s !== 200).length;
      expect(faulted(0)).toBeGreaterThan(0);
      expect(faulted(1)).toBeGreaterThan(0);
    });
  });

  describe('streamed answers', () => {
    let sse: Server;
    let release: () => void = () => {};

    beforeAll(async () => {
      // An upstream that sends one chunk, then waits for the test to say it has seen it: if the proxy buffered the
      // stream, that first chunk would never arrive.
      sse = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`data: ${JSON.stringify(chunk('{"riskScore": 0.2, '))}\n\n`);
          new Promise<void>((resolve) => (release = resolve))
            .then(() => {
              res.write(`data: ${JSON.stringify(chunk('"confidence": 0.9, "reasons": []}', 'stop'))}\n\n`);
              res.end('data: [DONE]\n\n');
            })
            .catch(() => res.destroy());
        });
      });
      await new Promise<void>((resolve) => sse.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      sse.closeAllConnections();
      await new Promise((resolve) => sse.close(resolve));
    });

    function chunk(content: string, finish: string | null = null) {
      return {
        id: 'chatcmpl-stream-1',
        object: 'chat.completion.chunk',
        created: 0,
        model: MODEL,
        choices: [{ index: 0, delta: { content }, finish_reason: finish }],
      };
    }

    it('are piped chunk by chunk and left untouched by the malformed fault', async () => {
      const proxy = await startFaultProxy({ upstream: `http://127.0.0.1:${(sse.address() as AddressInfo).port}` });
      proxies.push(proxy);
      const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: 5_000 });
      proxy.forceNext('malformed');

      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'txn stream' }],
        stream: true,
      });
      let content = '';
      for await (const part of stream) {
        content += part.choices[0]?.delta.content ?? '';
        release();
      }

      expect(isRiskAssessment(content)).toBe(true);
      expect(proxy.counts).toMatchObject({ malformed: 0, forwarded: 1 });
    });
  });

  it('in front of the real Ollama with faults off, a real completion and a real embedding pass through', async () => {
    const { localModel } = loadConfig();
    const ollama = new URL(localModel.baseURL);
    const proxy = await startFaultProxy({ upstream: ollama.origin });
    proxies.push(proxy);
    const client = new OpenAI({
      baseURL: `${proxy.url}${ollama.pathname}`,
      apiKey: localModel.apiKey,
      maxRetries: 0,
      timeout: 60_000,
    });

    const models = await client.models.list();
    const completion = await client.chat.completions.create({
      model: localModel.model,
      messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
      max_tokens: 20,
      temperature: 0,
    });

    const embedding = await client.embeddings.create({
      model: localModel.model,
      input: '$42.50 Corner Grocery grocery_pos US card_present',
      encoding_format: 'float',
    });

    expect(models.data.map((m) => m.id)).toContain(localModel.model);
    // SmolLM2-135M's hidden size: the dimension the shipped scoring policy's probe expects.
    expect(embedding.data[0]?.embedding).toHaveLength(576);
    expect(isUsableEmbedding(embedding.data[0]?.embedding)).toBe(true);
    expect(completion.model).toBe(localModel.model);
    expect(completion.choices[0]?.message.content?.trim().length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeLessThanOrEqual(20);
    expect(proxy.counts).toEqual({ ...noFaults, forwarded: 2 });
  });
});
