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
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { closeServer, listenOnLoopback, withholdAnswer } from '../loopback';
import type { FaultCounts, FaultKind, FaultRates, FaultSequence, ModelEndpoint } from './faults';
import { faultSequence, modelEndpoint } from './faults';
import { malformedAnswer } from './malformed';
import type { Upstream } from './upstream';
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

/** What every request handler of one proxy shares. */
interface ProxyState {
  readonly upstream: Upstream;
  readonly faults: FaultSequence;
  readonly counts: FaultCounts;
  /** Slow requests still held back; `close()` cancels them. */
  readonly timers: Set<NodeJS.Timeout>;
  readonly retryAfterSeconds: number;
  readonly slowMs: number;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const state: ProxyState = {
    upstream: upstreamFor(opts.upstream),
    retryAfterSeconds: opts.retryAfterSeconds ?? 1,
    slowMs: opts.slowMs ?? 2000,
    faults: faultSequence(opts.seed ?? 1, opts.faults ?? {}),
    counts: { serverError: 0, rateLimit: 0, hang: 0, reset: 0, malformed: 0, slow: 0, forwarded: 0 },
    timers: new Set(),
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const endpoint = modelEndpoint(req);
    return endpoint === undefined ? forward(state, req, res) : handleModelCall(state, req, res, endpoint);
  };
  const fail = (res: ServerResponse, message: string) =>
    sendProxyJson(res, 502, openAiError(`fault proxy failed: ${message}`, 502));
  const { server, port } = await listenOnLoopback(handle, fail, opts.port);
  return faultProxy(state, server, port);
}

/** The handle tests hold: counts, fault scripting, and a `close()` that runs once however often it is called. */
function faultProxy(state: ProxyState, server: Server, port: number): FaultProxy {
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    get counts() {
      return { ...state.counts };
    },
    setFaults(next) {
      state.faults.setRates(next);
    },
    forceNext(kind, n = 1) {
      state.faults.force(kind, n);
    },
    close() {
      if (closing === undefined) {
        for (const timer of state.timers) clearTimeout(timer);
        state.timers.clear();
        state.upstream.abort();
        closing = closeServer(server).finally(() => state.upstream.release());
      }
      return closing;
    },
  };
}

async function handleModelCall(
  state: ProxyState,
  req: IncomingMessage,
  res: ServerResponse,
  endpoint: ModelEndpoint,
): Promise<void> {
  // Decided on arrival, so concurrent requests draw in the order they reached the proxy.
  const kind = state.faults.next();
  // The whole request is read first: a real server fails after it has the request, not while it is being sent.
  let body: Buffer;
  try {
    body = await buffer(req);
  } catch {
    return; // the client went away mid-request
  }
  if (kind !== 'malformed') state.counts[kind] += 1;
  return injectFault(state, kind, req, res, body, endpoint);
}

/** Forwards the model call untouched, fails it without asking the upstream, or spoils or delays its answer. */
function injectFault(
  state: ProxyState,
  kind: FaultKind | 'forwarded',
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  endpoint: ModelEndpoint,
): Promise<void> | undefined {
  switch (kind) {
    case 'forwarded':
      return forward(state, req, res, body);
    case 'serverError':
      sendServerError(state, res);
      return;
    case 'rateLimit':
      sendProxyJson(res, 429, openAiError('Rate limit reached for requests. Please try again later.', 429), {
        'retry-after': String(state.retryAfterSeconds),
      });
      return;
    case 'hang':
    case 'reset':
      withholdAnswer(kind, req);
      return;
    case 'malformed':
      return forwardMalformed(state, req, res, body, endpoint);
    case 'slow':
      forwardSlowly(state, req, res, body);
      return;
  }
}

/** Half the time a provider's 500, half the time Ollama's 503 for a full queue. */
function sendServerError(state: ProxyState, res: ServerResponse): void {
  if (state.faults.variant() < 0.5) {
    sendProxyJson(res, 500, openAiError('The server had an error while processing your request.', 500));
  } else {
    sendProxyJson(res, 503, OLLAMA_BUSY_BODY);
  }
}

async function forward(state: ProxyState, req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<void> {
  const upstreamRes = await state.upstream.open(req, res, body);
  if (upstreamRes !== undefined) state.upstream.pipeAnswer(upstreamRes, res);
}

/** Forwards the call and spoils a JSON 200 answer; any other answer passes untouched and counts as forwarded. */
async function forwardMalformed(
  state: ProxyState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  endpoint: ModelEndpoint,
): Promise<void> {
  const upstreamRes = await state.upstream.open(req, res, body);
  if (upstreamRes === undefined) {
    state.counts.forwarded += 1;
    return;
  }
  const contentType = upstreamRes.headers['content-type'] ?? '';
  if (upstreamRes.statusCode !== 200 || !/\bjson\b/i.test(contentType)) {
    state.counts.forwarded += 1;
    state.upstream.pipeAnswer(upstreamRes, res);
    return;
  }
  return sendMalformed(state, res, upstreamRes, endpoint);
}

/** The upstream's answer rewritten as malformed model output, or as it was when it has nothing to spoil. */
async function sendMalformed(
  state: ProxyState,
  res: ServerResponse,
  upstreamRes: IncomingMessage,
  endpoint: ModelEndpoint,
): Promise<void> {
  const raw = await buffer(upstreamRes);
  const rewritten = malformedAnswer(raw, upstreamRes.headers['content-encoding'], endpoint, state.faults.variant());
  const headers = forwardableHeaders(upstreamRes.headers);
  if (rewritten === undefined) {
    state.counts.forwarded += 1;
    res.writeHead(200, upstreamRes.statusMessage, { ...headers, 'content-length': raw.length });
    res.end(raw);
    return;
  }
  state.counts.malformed += 1;
  delete headers['content-encoding'];
  res.writeHead(200, upstreamRes.statusMessage, { ...headers, 'content-length': Buffer.byteLength(rewritten) });
  res.end(rewritten);
}

/** Holds the request for `slowMs`, then forwards it; a client that gives up meanwhile never reaches the upstream. */
function forwardSlowly(state: ProxyState, req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const timer = setTimeout(() => {
    state.timers.delete(timer);
    if (!res.destroyed) forward(state, req, res, body).catch(() => res.destroy());
  }, state.slowMs);
  state.timers.add(timer);
  res.on('close', () => {
    clearTimeout(timer);
    state.timers.delete(timer);
  });
}
