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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback, withholdAnswer } from '../loopback';
import {
  chatCompletion,
  defaultMessage,
  deterministicEmbedding,
  embeddingList,
  sendAnswer,
  sendError,
} from './answers';
import type { BehaviourFn } from './behaviour';
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

  /** The 200 answer, after `latencyMs`; nothing is sent to a client that has gone. */
  const respond = (res: ServerResponse, body: object, latencyMs = 0): void => {
    const send = (): void => {
      if (!res.destroyed) sendAnswer(res, 200, body);
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

  const answerModelCall = (req: IncomingMessage, res: ServerResponse, request: CapturedModelRequest): void => {
    modelCalls += 1;
    const chosen = chooseBehaviour(behaviour, request, modelCalls);
    if (chosen instanceof Error) {
      sendError(res, 500, `Test server behaviour threw: ${chosen.message}`);
      return;
    }
    switch (chosen.kind) {
      case 'answer': {
        const content = JSON.stringify({
          riskScore: chosen.riskScore,
          confidence: chosen.confidence,
          reasons: chosen.reasons ?? [],
        });
        respond(
          res,
          request.endpoint === 'chat'
            ? completion(request.body, content)
            : embeddingList(request.body, (input) => deterministicEmbedding(input, dimensions)),
          chosen.latencyMs,
        );
        return;
      }
      case 'raw':
        respond(
          res,
          request.endpoint === 'chat'
            ? completion(request.body, chosen.content)
            : embeddingList(request.body, () => []),
        );
        return;
      case 'embedding':
        if (request.endpoint === 'chat') {
          sendError(res, 500, "Test server behaviour 'embedding' only applies to embeddings requests.");
        } else {
          respond(
            res,
            embeddingList(request.body, () => chosen.embedding),
          );
        }
        return;
      case 'status': {
        const headers: Record<string, string> = {};
        if (chosen.retryAfterSeconds !== undefined) headers['retry-after'] = String(chosen.retryAfterSeconds);
        sendError(res, chosen.status, chosen.message ?? defaultMessage(chosen.status), undefined, headers);
        return;
      }
      case 'hang':
      case 'reset':
        withholdAnswer(chosen.kind, req);
        return;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const captured = captureRequest(req, path);
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
      sendAnswer(res, 200, {
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
    answerModelCall(req, res, request);
  };

  const fail = (res: ServerResponse, message: string) => sendError(res, 500, `Test server failed: ${message}`);
  const { server, port } = await listenOnLoopback(handle, fail, opts.port);

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
      return closeServer(server);
    },
  };
}
