// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/**
 * A fault-injecting HTTP proxy for OpenAI-compatible endpoints (the local Ollama, the hosted test server, a real
 * provider). Each model call (a POST whose path ends in `/chat/completions`, or in `/embeddings`, which the local
 * first pass uses) is, with seeded probabilities, answered with a server error, a rate limit, a hang, a reset
 * socket, a malformed model answer or a slow answer; every other request is forwarded untouched. The chaos suite
 * and the failover-policy tests put it between the `openai` SDK and a model to see each row of the error taxonomy
 * (docs/architecture.md) happen.
 *
 * Faults are exclusive per request and drawn from a seeded PRNG (mulberry32), so a run is reproducible: the same
 * seed, rates and request order give the same sequence of faults.
 *
 * Binds 127.0.0.1 only: it must never be reachable from outside the machine.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { closeServer, listenOnLoopback, withholdAnswer } from '../loopback';
import type { FaultCounts, FaultKind, FaultRates, ModelEndpoint } from './faults';
import { faultSequence, modelEndpoint } from './faults';
import { malformedAnswer } from './malformed';
import { forwardableHeaders, openAiError, sendProxyJson, upstreamFor } from './upstream';

export interface FaultProxyOptions {
  /**
   * Where requests go: `upstream` + the original path and query, e.g. `http://127.0.0.1:11434` for Ollama (the
   * SDK then uses `${proxy.url}/v1`). A path prefix on `upstream` is kept.
   */
  upstream: string;
  /**
   * Port to listen on, on 127.0.0.1.
   * @default 0 (an ephemeral port; read it from `url`)
   */
  port?: number;
  /**
   * Seed of the PRNG that picks faults (and the 500/503 and malformed-output variants).
   * @default 1
   */
  seed?: number;
  /**
   * Initial fault rates; `setFaults` replaces them.
   * @default {} (no faults: everything is forwarded)
   */
  faults?: FaultRates;
  /**
   * The `retry-after` header of a `rateLimit` answer, in seconds.
   * @default 1
   */
  retryAfterSeconds?: number;
  /**
   * How long a `slow` request is held before it is forwarded, in milliseconds.
   * @default 2000
   */
  slowMs?: number;
}

export interface FaultProxy {
  /** Base URL, e.g. `http://127.0.0.1:41234`; append the upstream's API prefix (`/v1`) for the SDK's `baseURL`. */
  readonly url: string;
  /** A snapshot of how many model calls got each fault, or were `forwarded` untouched. */
  readonly counts: Readonly<FaultCounts>;
  /** Replaces the fault rates (unset kinds become 0). Throws a RangeError on a rate outside 0..1 or a sum above 1. */
  setFaults(rates: FaultRates): void;
  /**
   * Forces the next `n` (default 1) model calls to `kind` (`'forwarded'`: no fault), ahead of the rates. Calls
   * queue up in order; forced requests do not draw from the PRNG, so the random sequence resumes where it was.
   */
  forceNext(kind: FaultKind | 'forwarded', n?: number): void;
  /** Stops listening, ends hanging and in-flight requests and drops every connection. Safe to call twice. */
  close(): Promise<void>;
}

/** Ollama's answer when its request queue is full (OLLAMA_MAX_QUEUE), verbatim. */
const OLLAMA_BUSY_BODY = { error: 'server busy, please try again. maximum pending requests exceeded' };

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = upstreamFor(opts.upstream);
  const retryAfterSeconds = opts.retryAfterSeconds ?? 1;
  const slowMs = opts.slowMs ?? 2000;
  const faults = faultSequence(opts.seed ?? 1, opts.faults ?? {});
  const counts: FaultCounts = { serverError: 0, rateLimit: 0, hang: 0, reset: 0, malformed: 0, slow: 0, forwarded: 0 };
  const timers = new Set<NodeJS.Timeout>();

  const forward = async (req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<void> => {
    const upstreamRes = await upstream.open(req, res, body);
    if (upstreamRes !== undefined) upstream.pipeAnswer(upstreamRes, res);
  };

  const forwardMalformed = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    endpoint: ModelEndpoint,
  ): Promise<void> => {
    const upstreamRes = await upstream.open(req, res, body);
    if (upstreamRes === undefined) {
      counts.forwarded += 1;
      return;
    }
    const contentType = upstreamRes.headers['content-type'] ?? '';
    if (upstreamRes.statusCode !== 200 || !/\bjson\b/i.test(contentType)) {
      counts.forwarded += 1;
      upstream.pipeAnswer(upstreamRes, res);
      return;
    }
    const raw = await buffer(upstreamRes);
    const rewritten = malformedAnswer(raw, upstreamRes.headers['content-encoding'], endpoint, faults.variant());
    const headers = forwardableHeaders(upstreamRes.headers);
    if (rewritten === undefined) {
      counts.forwarded += 1;
      res.writeHead(200, upstreamRes.statusMessage, { ...headers, 'content-length': raw.length });
      res.end(raw);
      return;
    }
    counts.malformed += 1;
    delete headers['content-encoding'];
    res.writeHead(200, upstreamRes.statusMessage, { ...headers, 'content-length': Buffer.byteLength(rewritten) });
    res.end(rewritten);
  };

  /** Holds the request for `slowMs`, then forwards it; a client that gives up meanwhile never reaches the upstream. */
  const forwardSlowly = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) forward(req, res, body).catch(() => res.destroy());
    }, slowMs);
    timers.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  };

  const handleModelCall = async (req: IncomingMessage, res: ServerResponse, endpoint: ModelEndpoint): Promise<void> => {
    // Decided on arrival, so concurrent requests draw in the order they reached the proxy.
    const kind = faults.next();
    // The whole request is read first: a real server fails after it has the request, not while it is being sent.
    let body: Buffer;
    try {
      body = await buffer(req);
    } catch {
      return; // the client went away mid-request
    }
    if (kind !== 'malformed') counts[kind] += 1;
    switch (kind) {
      case 'forwarded':
        return forward(req, res, body);
      case 'serverError':
        if (faults.variant() < 0.5) {
          sendProxyJson(res, 500, openAiError('The server had an error while processing your request.', 500));
        } else {
          sendProxyJson(res, 503, OLLAMA_BUSY_BODY);
        }
        return;
      case 'rateLimit':
        sendProxyJson(res, 429, openAiError('Rate limit reached for requests. Please try again later.', 429), {
          'retry-after': String(retryAfterSeconds),
        });
        return;
      case 'hang':
      case 'reset':
        withholdAnswer(kind, req);
        return;
      case 'malformed':
        return forwardMalformed(req, res, body, endpoint);
      case 'slow':
        forwardSlowly(req, res, body);
        return;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const endpoint = modelEndpoint(req);
    return endpoint === undefined ? forward(req, res) : handleModelCall(req, res, endpoint);
  };
  const fail = (res: ServerResponse, message: string) =>
    sendProxyJson(res, 502, openAiError(`fault proxy failed: ${message}`, 502));
  const { server, port } = await listenOnLoopback(handle, fail, opts.port);
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    get counts() {
      return { ...counts };
    },
    setFaults(next) {
      faults.setRates(next);
    },
    forceNext(kind, n = 1) {
      faults.force(kind, n);
    },
    close() {
      if (closing === undefined) {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        upstream.abort();
        closing = closeServer(server).finally(() => upstream.release());
      }
      return closing;
    },
  };
}
