/**
 * A deterministic OpenAI-compatible server that stands in for the hosted frontier providers, which tests cannot
 * reach, and for the local model where a test needs it scripted or instant. It speaks just enough of the API for
 * the `openai` SDK: `POST /v1/chat/completions`, `POST /v1/embeddings` and `GET /v1/models`. Tests script each
 * answer or failure with `setBehaviour`; by default a chat score comes from a `TESTSCORE=<float>` (and optional
 * `TESTCONF=<float>`) marker in the last user message, and an embedding is derived from a hash of the input text
 * (equal texts, equal vectors), so the embedding-probe first pass has something stable to score.
 *
 * Binds 127.0.0.1 only: it must never be reachable from outside the machine.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

export interface HostedTestServerOptions {
  /**
   * Port to listen on, on 127.0.0.1.
   * @default 0 (an ephemeral port; read it from `baseURL`)
   */
  port?: number;
  /**
   * If set, every request must carry `Authorization: Bearer <apiKey>`; any other request gets a 401 with an
   * OpenAI-style error body.
   * @default undefined (no authentication)
   */
  apiKey?: string;
  /**
   * The model listed by `GET /v1/models`. Chat completions echo whichever model the request names.
   * @default 'hosted-test-model'
   */
  model?: string;
  /**
   * Length of every embedding `POST /v1/embeddings` returns. The default matches SmolLM2-135M, the local model the
   * shipped scoring policy's probe was fitted on; another length makes the first pass report a misconfiguration.
   * @default 576
   */
  embeddingDimensions?: number;
}

/** One request as the server received it. Secret-bearing headers are kept by name only. */
export interface CapturedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Lower-case header names; `authorization` (and `api-key`, `x-api-key`) values are replaced by `[redacted]`. */
  headers: Record<string, string>;
  /** The parsed JSON body; `undefined` for an empty body, the raw text if it was not JSON. */
  body: unknown;
  /** When the request was received, in ms since the epoch. */
  time: number;
}

const ChatMessage = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() })), z.null()]),
});

const ChatCompletionRequestBody = z.looseObject({
  model: z.string(),
  messages: z.array(ChatMessage).min(1),
  stream: z.boolean().optional(),
});
export type ChatCompletionRequestBody = z.infer<typeof ChatCompletionRequestBody>;

/** A chat completion request whose body parsed as one; this is what a behaviour sees. */
export interface CapturedChatRequest extends CapturedRequest {
  endpoint: 'chat';
  body: ChatCompletionRequestBody;
  /** Text of the last `user` message (text parts joined by newlines); '' if there is none. */
  lastUserText: string;
}

const EmbeddingRequestBody = z.looseObject({
  model: z.string(),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int()).min(1),
    z.array(z.array(z.number().int()).min(1)).min(1),
  ]),
  encoding_format: z.enum(['float', 'base64']).optional(),
});
export type EmbeddingRequestBody = z.infer<typeof EmbeddingRequestBody>;

/** An embeddings request whose body parsed as one. */
export interface CapturedEmbeddingRequest extends CapturedRequest {
  endpoint: 'embeddings';
  body: EmbeddingRequestBody;
  /**
   * The input text (several inputs joined by newlines; token ids as JSON), under the chat request's name so one
   * behaviour can pick its answer from the text either way.
   */
  lastUserText: string;
}

/** A model request (chat completion or embeddings): what a behaviour sees. */
export type CapturedModelRequest = CapturedChatRequest | CapturedEmbeddingRequest;

/**
 * What the server does with one model request. `status`, `hang` and `reset` apply to either endpoint; `answer`
 * (with its latency) and `raw` have an embeddings reading, given with each.
 */
export type Behaviour =
  /**
   * A well-formed completion whose content is `{riskScore, confidence, reasons}` as JSON. For embeddings: the
   * input's deterministic embedding (the scores are not used), after the same latency.
   */
  | {
      kind: 'answer';
      riskScore: number;
      confidence: number;
      /** @default [] */
      reasons?: string[];
      /** Delay before answering. @default 0 */
      latencyMs?: number;
    }
  /**
   * A well-formed completion whose content is exactly `content` (malformed model output). For embeddings: a
   * well-formed list whose embedding is empty (`content` is not used).
   */
  | { kind: 'raw'; content: string }
  /**
   * Embeddings only: a well-formed list whose every embedding is exactly `embedding` (non-numbers, a wrong
   * length). A chat completion request given this behaviour gets a 500 naming the mistake.
   */
  | { kind: 'embedding'; embedding: unknown[] }
  /** An OpenAI-style error body with this HTTP status, and a `retry-after` header when given. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; message?: string }
  /** Never answers, until the client aborts or the server closes. */
  | { kind: 'hang' }
  /** Destroys the socket without writing a response. */
  | { kind: 'reset' };

/**
 * Chooses the behaviour for one model request (chat completion or embeddings; `req.endpoint` tells which). `n`
 * counts model requests since the server started or was last reset, from 1, so a function can fail the first
 * attempt and answer the second.
 */
export type BehaviourFn = (req: CapturedModelRequest, n: number) => Behaviour;

export interface HostedTestServer {
  /** Base URL for the `openai` SDK, e.g. `http://127.0.0.1:41234/v1`. */
  readonly baseURL: string;
  /** Every request received since start or the last `reset()`, in arrival order. */
  readonly requests: CapturedRequest[];
  /** Replaces the behaviour for chat completion and embeddings requests (until `reset()`). */
  setBehaviour(fn: BehaviourFn): void;
  /** How many requests arrived for this path (any method, any outcome) since start or the last `reset()`. */
  callCount(path: string): number;
  /** Forgets captured requests and counts and restores the default behaviour. Open hanging requests stay open. */
  reset(): void;
  /** Drops every open connection (hanging requests included) and stops listening. */
  close(): Promise<void>;
}

const DEFAULT_MODEL = 'hosted-test-model';
const DEFAULT_EMBEDDING_DIMENSIONS = 576;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const SECRET_HEADERS = new Set(['authorization', 'api-key', 'x-api-key']);
const FLOAT = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
const SCORE_MARKER = new RegExp(String.raw`TESTSCORE=(${FLOAT})`);
const CONF_MARKER = new RegExp(String.raw`TESTCONF=(${FLOAT})`);

/**
 * The default behaviour: `TESTSCORE=<float>` / `TESTCONF=<float>` in the last user message set the score and
 * confidence (not clamped, so out-of-range values can test validation); otherwise 0.5 and 0.5. An embeddings
 * request gets its input's deterministic embedding.
 */
export function behaviourFromMarkers(req: CapturedModelRequest): Behaviour {
  const score = SCORE_MARKER.exec(req.lastUserText)?.[1];
  const conf = CONF_MARKER.exec(req.lastUserText)?.[1];
  return {
    kind: 'answer',
    riskScore: score === undefined ? 0.5 : Number(score),
    confidence: conf === undefined ? 0.5 : Number(conf),
    reasons: score === undefined ? ['no TESTSCORE marker'] : [`TESTSCORE marker ${score}`],
  };
}

export async function startHostedTestServer(opts: HostedTestServerOptions = {}): Promise<HostedTestServer> {
  const listedModel = opts.model ?? DEFAULT_MODEL;
  const dimensions = opts.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    throw new RangeError(`embeddingDimensions must be a positive whole number, got ${dimensions}`);
  }
  const requests: CapturedRequest[] = [];
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let behaviour: BehaviourFn = behaviourFromMarkers;
  let modelCalls = 0;
  let responseSeq = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const captured: CapturedRequest = {
      method: req.method ?? 'GET',
      path,
      headers: redactHeaders(req),
      body: undefined,
      time: Date.now(),
    };
    requests.push(captured);

    const raw = await readBody(req);
    if (raw === undefined) {
      sendError(res, 413, `Request body exceeds ${MAX_BODY_BYTES} bytes.`);
      return;
    }
    captured.body = parseJson(raw);

    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      sendError(res, 401, 'Incorrect API key provided.', 'invalid_api_key');
      return;
    }

    if (captured.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: listedModel, object: 'model', created: 0, owned_by: 'fraudflow-test' }],
      });
      return;
    }
    if (captured.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/embeddings')) {
      sendError(res, 404, `Unknown request URL: ${captured.method} ${path}.`, 'unknown_url');
      return;
    }

    const request = modelRequest(captured);
    if (typeof request === 'string') {
      sendError(res, 400, request);
      return;
    }

    modelCalls += 1;
    const chosen = chooseBehaviour(behaviour, request, modelCalls);
    if (chosen instanceof Error) {
      sendError(res, 500, `Test server behaviour threw: ${chosen.message}`);
      return;
    }

    /** The 200 answer, after `latencyMs`; nothing is sent to a client that has gone. */
    const respond = (body: object, latencyMs = 0): void => {
      const send = (): void => {
        if (!res.destroyed) sendJson(res, 200, body);
      };
      if (latencyMs <= 0) {
        send();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, latencyMs);
      timers.add(timer);
    };
    const completion = (body: ChatCompletionRequestBody, content: string): object => {
      responseSeq += 1;
      return chatCompletion(`chatcmpl-test-${responseSeq}`, body, content);
    };

    switch (chosen.kind) {
      case 'answer': {
        const content = JSON.stringify({
          riskScore: chosen.riskScore,
          confidence: chosen.confidence,
          reasons: chosen.reasons ?? [],
        });
        respond(
          request.endpoint === 'chat'
            ? completion(request.body, content)
            : embeddingList(request.body, (input) => deterministicEmbedding(input, dimensions)),
          chosen.latencyMs,
        );
        return;
      }
      case 'raw':
        respond(
          request.endpoint === 'chat'
            ? completion(request.body, chosen.content)
            : embeddingList(request.body, () => []),
        );
        return;
      case 'embedding':
        if (request.endpoint === 'chat') {
          sendError(res, 500, "Test server behaviour 'embedding' only applies to embeddings requests.");
        } else {
          respond(embeddingList(request.body, () => chosen.embedding));
        }
        return;
      case 'status': {
        const headers: Record<string, string> = {};
        if (chosen.retryAfterSeconds !== undefined) headers['retry-after'] = String(chosen.retryAfterSeconds);
        sendError(res, chosen.status, chosen.message ?? defaultMessage(chosen.status), undefined, headers);
        return;
      }
      case 'hang':
        // Leave the response open; the client's abort or close() ends it.
        return;
      case 'reset':
        req.socket.destroy();
        return;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        sendError(res, 500, `Test server failed: ${err instanceof Error ? err.message : String(err)}`);
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

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    setBehaviour(fn) {
      behaviour = fn;
    },
    callCount(path) {
      return counts.get(path) ?? 0;
    },
    reset() {
      requests.length = 0;
      counts.clear();
      modelCalls = 0;
      behaviour = behaviourFromMarkers;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Hanging requests and idle keep-alive sockets would otherwise hold close() open forever.
        server.closeAllConnections();
      });
    },
  };
}

function redactHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name] = SECRET_HEADERS.has(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** Resolves the body text, or `undefined` if it exceeds MAX_BODY_BYTES (the socket is then left to the 413). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function messageText(content: z.infer<typeof ChatMessage>['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text ?? '').join('\n');
}

function lastUserText(body: ChatCompletionRequestBody): string {
  const user = body.messages.filter((m) => m.role === 'user').at(-1);
  return user === undefined ? '' : messageText(user.content);
}

/** The behaviour's choice, or what it threw (the request then gets a 500 saying so). */
function chooseBehaviour(fn: BehaviourFn, request: CapturedModelRequest, n: number): Behaviour | Error {
  try {
    return fn(request, n);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** The request as a chat completion or embeddings request, or why it is not a valid one. */
function modelRequest(captured: CapturedRequest): CapturedModelRequest | string {
  if (captured.path === '/v1/chat/completions') {
    const parsed = ChatCompletionRequestBody.safeParse(captured.body);
    if (!parsed.success) return `Invalid chat completion request: ${z.prettifyError(parsed.error)}`;
    if (parsed.data.stream === true) return 'This test server does not stream (fraudflow never asks it to).';
    return Object.assign(captured, {
      endpoint: 'chat' as const,
      body: parsed.data,
      lastUserText: lastUserText(parsed.data),
    });
  }
  const parsed = EmbeddingRequestBody.safeParse(captured.body);
  if (!parsed.success) return `Invalid embeddings request: ${z.prettifyError(parsed.error)}`;
  return Object.assign(captured, {
    endpoint: 'embeddings' as const,
    body: parsed.data,
    lastUserText: embeddingInputs(parsed.data).join('\n'),
  });
}

/** One text per embedding asked for; token-id inputs as their JSON. */
function embeddingInputs(body: EmbeddingRequestBody): string[] {
  const { input } = body;
  if (typeof input === 'string') return [input];
  return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}

/**
 * A unit-length vector seeded by the text's sha256: equal texts give equal vectors, different texts unrelated
 * ones. Rounded to 7 decimals, about what a float32 embedding carries, to keep the JSON short.
 */
export function deterministicEmbedding(text: string, dimensions: number): number[] {
  const digest = createHash('sha256').update(text).digest();
  const next = sfc32(digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12));
  const vector = Array.from({ length: dimensions }, () => next() * 2 - 1);
  const norm = Math.hypot(...vector) || 1;
  return vector.map((x) => Math.round((x / norm) * 1e7) / 1e7);
}

/** sfc32: a small PRNG with 128 bits of state, so half the digest seeds it rather than 32 bits; values in [0, 1). */
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/**
 * The embeddings list the OpenAI API returns, one entry per input. A vector of numbers is sent as base64 float32
 * when the request asks for it (the SDK's default), otherwise as given.
 */
function embeddingList(request: EmbeddingRequestBody, vectorFor: (input: string) => unknown[]): object {
  const inputs = embeddingInputs(request);
  const promptTokens = approxTokens(inputs.join(''));
  return {
    object: 'list',
    data: inputs.map((input, index) => {
      const vector = vectorFor(input);
      const numeric = vector.every((x): x is number => typeof x === 'number');
      const embedding =
        request.encoding_format === 'base64' && numeric
          ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
          : vector;
      return { object: 'embedding', index, embedding };
    }),
    model: request.model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** Roughly 4 characters per token, the usual rule of thumb for English text. */
function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function chatCompletion(id: string, request: ChatCompletionRequestBody, content: string): object {
  const promptTokens = approxTokens(request.messages.map((m) => messageText(m.content)).join(''));
  const completionTokens = approxTokens(content);
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
    system_fingerprint: 'fp_fraudflow_test',
  };
}

/** The `type` and default `code` OpenAI uses for common statuses. */
function errorKind(status: number): { type: string; code: string | null } {
  if (status === 401) return { type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status === 403) return { type: 'permission_error', code: null };
  if (status === 404) return { type: 'invalid_request_error', code: 'not_found' };
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' };
  if (status >= 500) return { type: 'server_error', code: null };
  return { type: 'invalid_request_error', code: null };
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests. Please try again later.';
  if (status >= 500) return 'The server had an error while processing your request.';
  return `Request failed with status ${status}.`;
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code?: string,
  headers: Record<string, string> = {},
): void {
  const kind = errorKind(status);
  sendJson(res, status, { error: { message, type: kind.type, param: null, code: code ?? kind.code } }, headers);
}

let requestIdSeq = 0;

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  requestIdSeq += 1;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': `req_test_${requestIdSeq}`,
    ...headers,
  });
  res.end(text);
}
