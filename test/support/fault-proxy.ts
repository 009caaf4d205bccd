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
import { Agent as HttpAgent, createServer, request as httpRequest } from 'node:http';
import type {
  ClientRequest,
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** Probability (0..1) of each fault per model call. The rates must add up to at most 1. */
export interface FaultRates {
  /**
   * Answer 500 with an OpenAI-style error body, or 503 with Ollama's "server busy" body; 500 or 503 50/50.
   * @default 0
   */
  serverError?: number;
  /**
   * Answer 429 with a `retry-after` header (`retryAfterSeconds`) and an OpenAI-style error body.
   * @default 0
   */
  rateLimit?: number;
  /**
   * Accept the request and never answer, until the client gives up or the proxy closes.
   * @default 0
   */
  hang?: number;
  /**
   * Destroy the socket without writing a response.
   * @default 0
   */
  reset?: number;
  /**
   * Forward, then make the upstream's 200 JSON answer malformed: a chat completion's assistant message `content`
   * becomes bad model output (truncated JSON, prose, wrong field names or types, out-of-range scores); an
   * embeddings answer's `data[0].embedding` becomes empty or non-numbers (nulls, numbers as strings). Any other
   * answer (an error, a stream) is passed through and counted as `forwarded`.
   * @default 0
   */
  malformed?: number;
  /**
   * Forward after a delay of `slowMs`.
   * @default 0
   */
  slow?: number;
}

export type FaultKind = keyof FaultRates;

/** Model calls by what the proxy did to each; every call is counted exactly once. */
export type FaultCounts = Record<FaultKind | 'forwarded', number>;

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

/** The order in which rates are laid out on [0, 1) when a fault is drawn; part of what makes a seed reproducible. */
const FAULT_KINDS: readonly FaultKind[] = ['serverError', 'rateLimit', 'hang', 'reset', 'malformed', 'slow'];

/** Ollama's answer when its request queue is full (OLLAMA_MAX_QUEUE), verbatim. */
const OLLAMA_BUSY_BODY = { error: 'server busy, please try again. maximum pending requests exceeded' };

/** What a small or misbehaving model really sends back instead of a RiskAssessment. */
const MALFORMED_OUTPUTS: readonly string[] = [
  '{"riskScore": "high"',
  'not json',
  '{"riskScore": 0.42, "confidence": 0.9, "reasons": ["velocity',
  '{"score": 0.8, "reason": "card testing"}',
  '{"riskScore": 5, "confidence": 0.9, "reasons": []}',
  '```json\n{"riskScore": 0.9, "confidence": 0.8, "reasons": ["foreign"]}\n```',
  '',
];

/**
 * Unusable embeddings in place of the real one (`length` values): empty, and non-numbers, as a server that prints
 * NaN through JSON (null) or numbers as strings sends them. A base64 embedding becomes an empty string instead.
 */
const MALFORMED_EMBEDDINGS: readonly ((length: number, embedding: unknown[]) => unknown[])[] = [
  () => [],
  (length) => Array.from({ length }, () => null),
  (_length, embedding) => embedding.map(String),
];

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.upstream);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new TypeError(`fault proxy upstream must be http(s), got ${opts.upstream}`);
  }
  const basePath = target.pathname.replace(/\/+$/, '');
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent = target.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const retryAfterSeconds = opts.retryAfterSeconds ?? 1;
  const slowMs = opts.slowMs ?? 2000;
  const seed = opts.seed ?? 1;
  // Two streams, so the sequence of fault kinds does not depend on which variants were drawn along the way.
  const pickFault = mulberry32(seed);
  const pickVariant = mulberry32(seed ^ 0x9e3779b9);

  let rates = checkRates(opts.faults ?? {});
  const forced: { kind: FaultKind | 'forwarded'; left: number }[] = [];
  const counts: FaultCounts = { serverError: 0, rateLimit: 0, hang: 0, reset: 0, malformed: 0, slow: 0, forwarded: 0 };
  const upstreamRequests = new Set<ClientRequest>();
  const timers = new Set<NodeJS.Timeout>();

  const nextFault = (): FaultKind | 'forwarded' => {
    const head = forced[0];
    if (head !== undefined) {
      head.left -= 1;
      if (head.left === 0) forced.shift();
      return head.kind;
    }
    const draw = pickFault();
    let edge = 0;
    for (const kind of FAULT_KINDS) {
      edge += rates[kind];
      if (draw < edge) return kind;
    }
    return 'forwarded';
  };

  /**
   * Sends the request upstream; resolves its response, or `undefined` once the client has had a 502 (or is gone).
   * The upstream request is aborted if the client disconnects first.
   */
  const openUpstream = (
    req: IncomingMessage,
    res: ServerResponse,
    body?: Buffer,
  ): Promise<IncomingMessage | undefined> =>
    new Promise((resolve) => {
      const headers: OutgoingHttpHeaders = { ...forwardableHeaders(req.headers), host: target.host };
      if (body !== undefined) headers['content-length'] = body.length;
      const upstreamReq = send({
        protocol: target.protocol,
        hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: target.port,
        method: req.method,
        path: basePath + (req.url ?? '/'),
        headers,
        agent,
      });
      upstreamRequests.add(upstreamReq);
      upstreamReq.on('close', () => upstreamRequests.delete(upstreamReq));
      upstreamReq.on('response', resolve);
      upstreamReq.on('error', (err) => {
        if (!res.headersSent && !res.destroyed) {
          sendJson(res, 502, openAiError(`fault proxy: upstream ${target.origin} failed: ${err.message}`, 502));
        } else {
          res.destroy();
        }
        resolve(undefined);
      });
      res.on('close', () => {
        if (!res.writableFinished) upstreamReq.destroy();
      });
      if (body !== undefined) upstreamReq.end(body);
      else req.pipe(upstreamReq);
    });

  const pipeAnswer = (upstreamRes: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardableHeaders(upstreamRes.headers));
    // pipeline destroys the other side when either fails, so a dying upstream never leaves the client waiting.
    pipeline(upstreamRes, res, () => {});
  };

  const forward = async (req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<void> => {
    const upstreamRes = await openUpstream(req, res, body);
    if (upstreamRes !== undefined) pipeAnswer(upstreamRes, res);
  };

  const forwardMalformed = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    endpoint: ModelEndpoint,
  ): Promise<void> => {
    const upstreamRes = await openUpstream(req, res, body);
    if (upstreamRes === undefined) {
      counts.forwarded += 1;
      return;
    }
    const contentType = upstreamRes.headers['content-type'] ?? '';
    if (upstreamRes.statusCode !== 200 || !/\bjson\b/i.test(contentType)) {
      counts.forwarded += 1;
      pipeAnswer(upstreamRes, res);
      return;
    }
    const raw = await buffer(upstreamRes);
    const text = decode(raw, upstreamRes.headers['content-encoding']);
    const variant = pickVariant();
    const rewritten =
      endpoint === 'chat'
        ? replaceAssistantContent(text, MALFORMED_OUTPUTS[pick(variant, MALFORMED_OUTPUTS.length)] ?? 'not json')
        : replaceEmbedding(text, MALFORMED_EMBEDDINGS[pick(variant, MALFORMED_EMBEDDINGS.length)] ?? (() => []));
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

  const handleModelCall = async (req: IncomingMessage, res: ServerResponse, endpoint: ModelEndpoint): Promise<void> => {
    // Decided on arrival, so concurrent requests draw in the order they reached the proxy.
    const kind = nextFault();
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
        if (pickVariant() < 0.5) {
          sendJson(res, 500, openAiError('The server had an error while processing your request.', 500));
        } else {
          sendJson(res, 503, OLLAMA_BUSY_BODY);
        }
        return;
      case 'rateLimit':
        sendJson(res, 429, openAiError('Rate limit reached for requests. Please try again later.', 429), {
          'retry-after': String(retryAfterSeconds),
        });
        return;
      case 'hang':
        // Leave the response open; the client's abort or close() ends it.
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'malformed':
        return forwardMalformed(req, res, body, endpoint);
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) forward(req, res, body).catch(() => res.destroy());
        }, slowMs);
        timers.add(timer);
        // A client that gives up during the delay never reaches the upstream.
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
    }
  };

  const server = createServer((req, res) => {
    const endpoint = modelEndpoint(req);
    (endpoint === undefined ? forward(req, res) : handleModelCall(req, res, endpoint)).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 502, openAiError(`fault proxy failed: ${err instanceof Error ? err.message : String(err)}`, 502));
      } else {
        res.destroy();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    get counts() {
      return { ...counts };
    },
    setFaults(next) {
      rates = checkRates(next);
    },
    forceNext(kind, n = 1) {
      if (kind !== 'forwarded' && !FAULT_KINDS.includes(kind)) throw new RangeError(`unknown fault kind ${kind}`);
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`forceNext needs a whole number of requests, got ${n}`);
      if (n > 0) forced.push({ kind, left: n });
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const upstreamReq of upstreamRequests) upstreamReq.destroy();
        server.close((err) => {
          agent.destroy();
          if (err) reject(err);
          else resolve();
        });
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open forever.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

type ModelEndpoint = 'chat' | 'embeddings';

/** Which model call a request is, if any: a POST to `.../chat/completions` or `.../embeddings`. */
function modelEndpoint(req: IncomingMessage): ModelEndpoint | undefined {
  if (req.method !== 'POST') return undefined;
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path.endsWith('/chat/completions')) return 'chat';
  if (path.endsWith('/embeddings')) return 'embeddings';
  return undefined;
}

/** An index in 0..length-1 from a draw in [0, 1). */
function pick(draw: number, length: number): number {
  return Math.min(length - 1, Math.floor(draw * length));
}

/** mulberry32: a tiny, fast 32-bit PRNG; plenty for picking faults, and the same on every platform. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkRates(rates: FaultRates): Record<FaultKind, number> {
  for (const key of Object.keys(rates)) {
    if (!(FAULT_KINDS as readonly string[]).includes(key)) throw new RangeError(`unknown fault kind ${key}`);
  }
  const checked = {} as Record<FaultKind, number>;
  let sum = 0;
  for (const kind of FAULT_KINDS) {
    const rate = rates[kind] ?? 0;
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new RangeError(`fault rate ${kind} must be within 0..1, got ${rate}`);
    }
    checked[kind] = rate;
    sum += rate;
  }
  // Faults are exclusive per request, so their probabilities share one unit interval.
  if (sum > 1 + 1e-9) throw new RangeError(`fault rates add up to ${sum}, more than 1`);
  return checked;
}

/** The message's headers minus hop-by-hop ones (including any the `Connection` header names). */
function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    (headers.connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}

/** The body as text, decompressed when needed; `undefined` for an encoding we cannot read. */
function decode(raw: Buffer, encoding: string | undefined): string | undefined {
  try {
    switch ((encoding ?? 'identity').trim().toLowerCase()) {
      case 'identity':
        return raw.toString('utf8');
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(raw).toString('utf8');
      case 'deflate':
        return inflateSync(raw).toString('utf8');
      case 'br':
        return brotliDecompressSync(raw).toString('utf8');
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** The completion with every choice's `message.content` set to `content`; `undefined` if it is not a completion. */
function replaceAssistantContent(text: string | undefined, content: string): string | undefined {
  if (text === undefined) return undefined;
  let completion: unknown;
  try {
    completion = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(completion) || !Array.isArray(completion.choices)) return undefined;
  let replaced = false;
  for (const choice of completion.choices as unknown[]) {
    if (isRecord(choice) && isRecord(choice.message)) {
      choice.message.content = content;
      replaced = true;
    }
  }
  return replaced ? JSON.stringify(completion) : undefined;
}

/**
 * The embeddings answer with `data[0].embedding` replaced by `malformed` of it; `undefined` if it is not an
 * embeddings answer.
 */
function replaceEmbedding(
  text: string | undefined,
  malformed: (length: number, embedding: unknown[]) => unknown[],
): string | undefined {
  if (text === undefined) return undefined;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(answer) || !Array.isArray(answer.data)) return undefined;
  const first: unknown = answer.data[0];
  if (!isRecord(first)) return undefined;
  if (Array.isArray(first.embedding)) {
    first.embedding = malformed(first.embedding.length, first.embedding as unknown[]);
  } else if (typeof first.embedding === 'string') {
    first.embedding = '';
  } else {
    return undefined;
  }
  return JSON.stringify(answer);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function openAiError(message: string, status: number): object {
  const type = status === 429 ? 'requests' : 'server_error';
  const code = status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type, param: null, code } };
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
