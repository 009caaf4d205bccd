/**
 * What the fault proxy's tests share: a hosted test server as the upstream, proxies in front of it closed after
 * each test, and the two model calls fraudflow makes through them.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { RiskAssessment } from '../../../src/schemas/risk-assessment';
import { startFaultProxy } from '../../../src/testing/fault-proxy';
import type { FaultProxy, FaultProxyOptions } from '../../../src/testing/fault-proxy';
import { startHostedTestServer } from '../../../src/testing/hosted-provider';
import type { HostedTestServer } from '../../../src/testing/hosted-provider';

export const API_KEY = 'sk-test-fault-proxy-2b9e';
export const MODEL = 'frontier-test-model';
export const CHAT_PATH = '/v1/chat/completions';
export const EMBEDDINGS_PATH = '/v1/embeddings';

export const noFaults = { serverError: 0, rateLimit: 0, hang: 0, reset: 0, malformed: 0, slow: 0 };

/**
 * Starts the hosted test server before the calling `describe` block's tests and closes it after them; proxies
 * pushed on `proxies` are closed, and the server reset, after each test. Read `hosted` and `upstream` once the
 * block's own `beforeAll` runs.
 */
export function useHostedBehindProxies() {
  let hosted: HostedTestServer | undefined;
  const proxies: FaultProxy[] = [];
  const started = (): HostedTestServer => {
    if (hosted === undefined) throw new Error('the hosted test server starts in beforeAll');
    return hosted;
  };
  const upstream = () => new URL(started().baseURL).origin;

  beforeAll(async () => {
    hosted = await startHostedTestServer({ apiKey: API_KEY, model: MODEL });
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
    started().reset();
  });
  afterAll(async () => {
    await started().close();
  });

  return {
    proxies,
    get hosted() {
      return started();
    },
    get upstream() {
      return upstream();
    },
    /** A proxy in front of the hosted test server, closed after the test, and an SDK client that never retries. */
    proxyToHosted: async (opts: Omit<FaultProxyOptions, 'upstream'> = {}) => {
      const proxy = await startFaultProxy({ upstream: upstream(), ...opts });
      proxies.push(proxy);
      const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
      return { proxy, client };
    },
  };
}

/** A chat completion whose prompt carries the markers the hosted test server scores by. */
export function score(client: OpenAI, prompt = 'txn 1 TESTSCORE=0.3 TESTCONF=0.9', options?: { timeout?: number }) {
  return client.chat.completions.create(
    { model: MODEL, messages: [{ role: 'user', content: prompt }] },
    options?.timeout === undefined ? undefined : { timeout: options.timeout },
  );
}

/** The local first pass's request (src/models/first-pass.ts). */
export function embed(client: OpenAI, input = 'txn 1 $42.50 Corner Grocery', options?: { timeout?: number }) {
  return client.embeddings.create(
    { model: MODEL, input, encoding_format: 'float' },
    options?.timeout === undefined ? undefined : { timeout: options.timeout },
  );
}

export function isRiskAssessment(content: string | null | undefined): boolean {
  try {
    return RiskAssessment.safeParse(JSON.parse(content ?? '')).success;
  } catch {
    return false;
  }
}

/** What the scoring activity accepts (activities/model-scoring.ts): a non-empty vector of finite numbers. */
export function isUsableEmbedding(embedding: unknown[] | undefined): boolean {
  return embedding !== undefined && embedding.length > 0 && embedding.every(Number.isFinite);
}
