// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/** What the hosted-provider stand-in does with a model request: scripted by a test, or read from markers. */
import type { CapturedModelRequest } from './requests';

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

/** The behaviour's choice, or what it threw (the request then gets a 500 saying so). */
export function chooseBehaviour(fn: BehaviourFn, request: CapturedModelRequest, n: number): Behaviour | Error {
  try {
    return fn(request, n);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
