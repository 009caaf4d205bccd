// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/**
 * The `malformed` fault: an upstream's well-formed 200 answer rewritten into what a small or misbehaving model
 * really sends back, a bad completion or an unusable embedding.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { ModelEndpoint } from './faults';
import { pick } from './faults';

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

/**
 * The answer text (`raw`, in `encoding`) made malformed, the variant picked by `draw` in [0, 1); `undefined` when
 * it cannot be read or is not a completion or embeddings answer, and is then passed through untouched.
 */
export function malformedAnswer(
  raw: Buffer,
  encoding: string | undefined,
  endpoint: ModelEndpoint,
  draw: number,
): string | undefined {
  const text = decode(raw, encoding);
  return endpoint === 'chat'
    ? replaceAssistantContent(text, MALFORMED_OUTPUTS[pick(draw, MALFORMED_OUTPUTS.length)] ?? 'not json')
    : replaceEmbedding(text, MALFORMED_EMBEDDINGS[pick(draw, MALFORMED_EMBEDDINGS.length)] ?? (() => []));
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
  const completion = parseObject(text);
  if (completion === undefined || !Array.isArray(completion.choices)) return undefined;
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
  const answer = parseObject(text);
  if (answer === undefined || !Array.isArray(answer.data)) return undefined;
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

/** The text as a JSON object; `undefined` for no text, text that is not JSON, or JSON that is not an object. */
function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isRecord(parsed) ? parsed : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
