import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, InternalServerError, RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config';
import { startFaultProxy } from '../../../src/testing/fault-proxy';
import type { HostedTestServer } from '../../../src/testing/hosted-provider';
import { deterministicEmbedding } from '../../../src/testing/hosted-provider';
import { caught } from '../../support/caught';
import {
  API_KEY,
  embed,
  EMBEDDINGS_PATH,
  isRiskAssessment,
  isUsableEmbedding,
  MODEL,
  noFaults,
  score,
  useHostedBehindProxies,
} from './fixture';

describe('fault proxy', () => {
  const fixture = useHostedBehindProxies();
  const { proxies, proxyToHosted } = fixture;
  let hosted: HostedTestServer;

  beforeAll(() => {
    ({ hosted } = fixture);
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
