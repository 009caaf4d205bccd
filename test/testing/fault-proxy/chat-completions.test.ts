import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  AuthenticationError,
  InternalServerError,
  RateLimitError,
} from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HostedTestServer } from '../../../src/testing/hosted-provider';
import { caught } from '../../support/caught';
import { CHAT_PATH, isRiskAssessment, MODEL, noFaults, score, useHostedBehindProxies } from './fixture';

describe('fault proxy', () => {
  const fixture = useHostedBehindProxies();
  const { proxyToHosted } = fixture;
  let hosted: HostedTestServer;
  let upstream: string;

  beforeAll(() => {
    ({ hosted, upstream } = fixture);
  });

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
});
