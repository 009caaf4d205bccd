// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/** The hosted-provider stand-in's answers, shaped as the OpenAI API shapes them: completions, embeddings, errors. */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson } from '../loopback';
import type { ChatCompletionRequestBody, EmbeddingRequestBody } from './requests';
import { embeddingInputs, messageText } from './requests';

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
export function embeddingList(request: EmbeddingRequestBody, vectorFor: (input: string) => unknown[]): object {
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

export function chatCompletion(id: string, request: ChatCompletionRequestBody, content: string): object {
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

export function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests. Please try again later.';
  if (status >= 500) return 'The server had an error while processing your request.';
  return `Request failed with status ${status}.`;
}

export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code?: string,
  headers: Record<string, string> = {},
): void {
  const kind = errorKind(status);
  sendAnswer(res, status, { error: { message, type: kind.type, param: null, code: code ?? kind.code } }, headers);
}

let requestIdSeq = 0;

/** A JSON answer with an `x-request-id`, which the SDK reads into `request_id` as it does a real provider's. */
export function sendAnswer(
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  requestIdSeq += 1;
  sendJson(res, status, body, { 'x-request-id': `req_test_${requestIdSeq}`, ...headers });
}
