// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/** The requests the hosted-provider stand-in accepts, as it captures and parses them. */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';

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

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
const SECRET_HEADERS = new Set(['authorization', 'api-key', 'x-api-key']);

/** The request as captured on arrival, before its body is read. */
export function captureRequest(req: IncomingMessage, path: string): CapturedRequest {
  return { method: req.method ?? 'GET', path, headers: redactHeaders(req), body: undefined, time: Date.now() };
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
export function readBody(req: IncomingMessage): Promise<string | undefined> {
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

export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function messageText(content: z.infer<typeof ChatMessage>['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text ?? '').join('\n');
}

function lastUserText(body: ChatCompletionRequestBody): string {
  const user = body.messages.filter((m) => m.role === 'user').at(-1);
  return user === undefined ? '' : messageText(user.content);
}

/** The request as a chat completion or embeddings request, or why it is not a valid one. */
export function modelRequest(captured: CapturedRequest): CapturedModelRequest | string {
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
export function embeddingInputs(body: EmbeddingRequestBody): string[] {
  const { input } = body;
  if (typeof input === 'string') return [input];
  return input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
}
