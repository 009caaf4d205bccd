// A stand-in shared by tests and benchmarks: no production code imports src/testing.
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
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback, withholdAnswer } from '../loopback';
import {
  chatCompletion,
  defaultMessage,
  deterministicEmbedding,
  embeddingList,
  sendAnswer,
  sendError,
} from './answers';
import type { Behaviour, BehaviourFn } from './behaviour';
import { behaviourFromMarkers, chooseBehaviour } from './behaviour';
import type { CapturedModelRequest, CapturedRequest, ChatCompletionRequestBody } from './requests';
import { captureRequest, MAX_BODY_BYTES, modelRequest, parseJson, readBody } from './requests';

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

/** What the server keeps between requests, passed to each step of answering one. */
interface ServerState {
  readonly listedModel: string;
  readonly dimensions: number;
  readonly apiKey: string | undefined;
  readonly requests: CapturedRequest[];
  /** Requests per path, for `callCount`. */
  readonly counts: Map<string, number>;
  /** Answers waiting out their latency; `close()` cancels them. */
  readonly timers: Set<NodeJS.Timeout>;
  behaviour: BehaviourFn;
  /** Model requests since start or `reset()`: the `n` a behaviour is given. */
  modelCalls: number;
  /** Numbers the completion ids; `reset()` leaves it, so an id is never given twice. */
  responseSeq: number;
}

type ChosenBehaviour<K extends Behaviour['kind']> = Extract<Behaviour, { kind: K }>;

export async function startHostedTestServer(opts: HostedTestServerOptions = {}): Promise<HostedTestServer> {
  const state = initialState(opts);
  const fail = (res: ServerResponse, message: string) => sendError(res, 500, `Test server failed: ${message}`);
  const { server, port } = await listenOnLoopback((req, res) => handleRequest(state, req, res), fail, opts.port);
  return hostedTestServer(state, server, port);
}

function initialState(opts: HostedTestServerOptions): ServerState {
  const dimensions = opts.embeddingDimensions ?? DEFAULT_EMBEDDING_DIMENSIONS;
  if (!Number.isInteger(dimensions) || dimensions < 1) {
    throw new RangeError(`embeddingDimensions must be a positive whole number, got ${dimensions}`);
  }
  return {
    listedModel: opts.model ?? DEFAULT_MODEL,
    dimensions,
    apiKey: opts.apiKey,
    requests: [],
    counts: new Map(),
    timers: new Set(),
    behaviour: behaviourFromMarkers,
    modelCalls: 0,
    responseSeq: 0,
  };
}

/** The handle tests hold: captured requests, scripting, and `close()`. */
function hostedTestServer(state: ServerState, server: Server, port: number): HostedTestServer {
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests: state.requests,
    setBehaviour(fn) {
      state.behaviour = fn;
    },
    callCount(path) {
      return state.counts.get(path) ?? 0;
    },
    reset() {
      state.requests.length = 0;
      state.counts.clear();
      state.modelCalls = 0;
      state.behaviour = behaviourFromMarkers;
    },
    close() {
      for (const timer of state.timers) clearTimeout(timer);
      state.timers.clear();
      return closeServer(server);
    },
  };
}

/** Captures every request, whatever becomes of it, then reads its body and routes it. */
async function handleRequest(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  state.counts.set(path, (state.counts.get(path) ?? 0) + 1);
  const captured = captureRequest(req, path);
  state.requests.push(captured);

  const raw = await readBody(req);
  if (raw === undefined) {
    sendError(res, 413, `Request body exceeds ${MAX_BODY_BYTES} bytes.`);
    return;
  }
  captured.body = parseJson(raw);
  routeRequest(state, req, res, captured, path);
}

/** Checks the key, then answers the model list, a model call, or a 404 as the OpenAI API would. */
function routeRequest(
  state: ServerState,
  req: IncomingMessage,
  res: ServerResponse,
  captured: CapturedRequest,
  path: string,
): void {
  if (state.apiKey !== undefined && req.headers.authorization !== `Bearer ${state.apiKey}`) {
    sendError(res, 401, 'Incorrect API key provided.', 'invalid_api_key');
    return;
  }
  if (captured.method === 'GET' && path === '/v1/models') {
    sendAnswer(res, 200, {
      object: 'list',
      data: [{ id: state.listedModel, object: 'model', created: 0, owned_by: 'fraudflow-test' }],
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
  answerModelCall(state, req, res, request);
}

/** Asks the behaviour what to do with this model request and does it; a behaviour that throws gets a 500. */
function answerModelCall(
  state: ServerState,
  req: IncomingMessage,
  res: ServerResponse,
  request: CapturedModelRequest,
): void {
  state.modelCalls += 1;
  const chosen = chooseBehaviour(state.behaviour, request, state.modelCalls);
  if (chosen instanceof Error) {
    sendError(res, 500, `Test server behaviour threw: ${chosen.message}`);
    return;
  }
  switch (chosen.kind) {
    case 'answer':
      sendScore(state, res, request, chosen);
      return;
    case 'raw':
      sendRawContent(state, res, request, chosen);
      return;
    case 'embedding':
      sendScriptedEmbedding(state, res, request, chosen);
      return;
    case 'status':
      sendStatus(res, chosen);
      return;
    case 'hang':
    case 'reset':
      withholdAnswer(chosen.kind, req);
      return;
  }
}

/** A completion whose content is the scripted score; for embeddings, the input's deterministic embedding. */
function sendScore(
  state: ServerState,
  res: ServerResponse,
  request: CapturedModelRequest,
  chosen: ChosenBehaviour<'answer'>,
): void {
  const content = JSON.stringify({
    riskScore: chosen.riskScore,
    confidence: chosen.confidence,
    reasons: chosen.reasons ?? [],
  });
  respond(
    state,
    res,
    request.endpoint === 'chat'
      ? completion(state, request.body, content)
      : embeddingList(request.body, (input) => deterministicEmbedding(input, state.dimensions)),
    chosen.latencyMs,
  );
}

/** A completion with exactly the scripted content; for embeddings, a list of empty vectors. */
function sendRawContent(
  state: ServerState,
  res: ServerResponse,
  request: CapturedModelRequest,
  chosen: ChosenBehaviour<'raw'>,
): void {
  respond(
    state,
    res,
    request.endpoint === 'chat'
      ? completion(state, request.body, chosen.content)
      : embeddingList(request.body, () => []),
  );
}

/** Embeddings only: every vector is the scripted one. */
function sendScriptedEmbedding(
  state: ServerState,
  res: ServerResponse,
  request: CapturedModelRequest,
  chosen: ChosenBehaviour<'embedding'>,
): void {
  if (request.endpoint === 'chat') {
    sendError(res, 500, "Test server behaviour 'embedding' only applies to embeddings requests.");
  } else {
    respond(
      state,
      res,
      embeddingList(request.body, () => chosen.embedding),
    );
  }
}

/** An OpenAI-style error with the scripted status, and `retry-after` when scripted. */
function sendStatus(res: ServerResponse, chosen: ChosenBehaviour<'status'>): void {
  const headers: Record<string, string> = {};
  if (chosen.retryAfterSeconds !== undefined) headers['retry-after'] = String(chosen.retryAfterSeconds);
  sendError(res, chosen.status, chosen.message ?? defaultMessage(chosen.status), undefined, headers);
}

/** The next completion, with an id unique to this server. */
function completion(state: ServerState, body: ChatCompletionRequestBody, content: string): object {
  state.responseSeq += 1;
  return chatCompletion(`chatcmpl-test-${state.responseSeq}`, body, content);
}

/** The 200 answer, after `latencyMs`; nothing is sent to a client that has gone. */
function respond(state: ServerState, res: ServerResponse, body: object, latencyMs = 0): void {
  const send = (): void => {
    if (!res.destroyed) sendAnswer(res, 200, body);
  };
  if (latencyMs <= 0) {
    send();
    return;
  }
  const timer = setTimeout(() => {
    state.timers.delete(timer);
    send();
  }, latencyMs);
  state.timers.add(timer);
}
