/**
 * The codec server: Temporal's remote codec protocol over HTTP, so the Temporal UI and CLI can show analysts the
 * plaintext of histories whose payloads `EncryptionCodec` sealed. Point the UI's codec endpoint (or
 * `temporal --codec-endpoint`) at it.
 *
 * Protocol: `POST [/<prefix>]/encode` and `POST [/<prefix>]/decode` (the UI may put the namespace in the prefix and
 * sends it in `X-Namespace`), body and answer `{ "payloads": [{ "metadata": { "<key>": "<base64>" }, "data":
 * "<base64>" }] }`, the proto3 JSON form of `Payloads`.
 *
 * Anyone who can reach this server and pass its token can read every transaction, so it binds 127.0.0.1 unless
 * told otherwise, and it never logs payloads or the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';

import { EncryptionCodec, PayloadDecryptionError } from './payload-codec';
import { CodecChain, CompressionCodec, PayloadDecompressionError } from './compression-codec';
import type { CodecKeyring } from './payload-codec';

export interface CodecServerOptions {
  /** The keys to encode and decode with; the same ring the workers and clients use. */
  keyring: CodecKeyring;
  /**
   * Address to bind. Anything but loopback exposes decrypted transactions to the network: put TLS and a token
   * in front first.
   * @default '127.0.0.1'
   */
  host?: string;
  /** Port to listen on; 0 picks an ephemeral port (read it from `url`). */
  port: number;
  /**
   * If set, every POST must carry `Authorization: Bearer <token>`; others get a 401. Preflight OPTIONS requests
   * never carry credentials, so they are answered without it.
   * @default undefined (no authentication)
   */
  token?: string;
  /**
   * Browser origins allowed to call the server (the Temporal UI's, e.g. `http://127.0.0.1:8233`); they are
   * echoed in `Access-Control-Allow-Origin`, with credentials allowed. Other origins get no CORS headers.
   */
  corsOrigins: string[];
  /** Compress what it encodes, as the workers do (PAYLOAD_COMPRESSION); it decodes compressed payloads either way. @default true */
  compress?: boolean;
}

export interface CodecServer {
  /** Base URL, e.g. `http://127.0.0.1:8888`; the codec endpoints are `${url}/encode` and `${url}/decode`. */
  url: string;
  close(): Promise<void>;
}

// A decode request carries a page of history; Temporal caps one payload at 2 MiB by default (blob size limit).
const MAX_BODY_BYTES = 16 * 1024 * 1024;

// Proto3 JSON writes bytes as base64; parsers accept the standard and URL-safe alphabets, padded or not.
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

const JsonPayload = z.object({
  metadata: z.record(z.string(), Base64).nullish(),
  data: Base64.nullish(),
});
type JsonPayload = z.infer<typeof JsonPayload>;

const CodecRequest = z.object({ payloads: z.array(JsonPayload) });

const codecPath = /^(?:\/[^/]+)*\/(encode|decode)\/?$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What every request needs: the codec, and who may call it. */
interface CodecEndpoint {
  codec: CodecChain;
  allowedOrigins: Set<string>;
  /** Digest of the bearer token every POST must carry; undefined when no token is required. */
  tokenDigest: Buffer | undefined;
}

type CodecOperation = 'encode' | 'decode';

/** Starts the codec server; resolves once it is listening. */
export async function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  // The workers' codecs in the workers' order: compression (encode only when set; decode always), then encryption.
  const codec = new CodecChain([
    new CompressionCodec({ compress: opts.compress ?? true }),
    new EncryptionCodec(opts.keyring),
  ]);
  const host = opts.host ?? '127.0.0.1';
  const allowedOrigins = new Set(opts.corsOrigins);
  // Compare digests so the comparison takes the same time whatever the token's length or content.
  const tokenDigest = opts.token === undefined ? undefined : sha256(opts.token);
  const endpoint: CodecEndpoint = { codec, allowedOrigins, tokenDigest };

  const server = createServer((req, res) => {
    handleRequest(endpoint, req, res).catch((err: unknown) => sendFailure(res, err));
  });
  await listen(server, opts.port, host);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      return closeServer(server);
    },
  };
}

async function handleRequest(endpoint: CodecEndpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  allowCors(req, res, endpoint.allowedOrigins);
  const operation = routeCodecOperation(req);
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end();
    return;
  }
  authorizePost(req, res, endpoint.tokenDigest);
  const payloads = await readCodecRequest(req);
  const result = await runCodec(endpoint.codec, operation, payloads);
  sendJson(res, 200, { payloads: result.map(toJson) });
}

/** CORS headers for an allowed browser origin; others get none, so the browser refuses them the answer. */
function allowCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: Set<string>): void {
  const origin = req.headers.origin;
  res.setHeader('Vary', 'Origin');
  if (origin !== undefined && allowedOrigins.has(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization, X-Namespace');
    res.setHeader('Access-Control-Allow-Credentials', 'true');
  }
}

/** The operation the path names, whatever prefix precedes it; 404 for any other path. */
function routeCodecOperation(req: IncomingMessage): CodecOperation {
  const { pathname } = new URL(req.url ?? '/', 'http://codec.invalid');
  const operation = codecPath.exec(pathname)?.[1] as CodecOperation | undefined;
  if (!operation) throw new HttpError(404, 'Not found: use POST /encode or POST /decode');
  return operation;
}

/** Throws 405 for a method other than POST, and 401 for a POST without the bearer token when one is required. */
function authorizePost(req: IncomingMessage, res: ServerResponse, tokenDigest: Buffer | undefined): void {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST, OPTIONS');
    throw new HttpError(405, `Method ${req.method} not allowed: use POST`);
  }
  if (tokenDigest && !hasBearerToken(req, tokenDigest)) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    throw new HttpError(401, 'Unauthorized: send Authorization: Bearer <codec server token>');
  }
}

/** The request's payloads; 400 for a body that is not JSON or not `{ payloads: [...] }`, 413 for one too large. */
async function readCodecRequest(req: IncomingMessage): Promise<Payload[]> {
  const body = await readBody(req);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON; expected { "payloads": [...] }');
  }
  const parsed = CodecRequest.safeParse(json);
  if (!parsed.success) {
    throw new HttpError(400, `Request body is not { "payloads": [...] }:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data.payloads.map(fromJson);
}

async function runCodec(codec: CodecChain, operation: CodecOperation, payloads: Payload[]): Promise<Payload[]> {
  try {
    return operation === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
  } catch (err) {
    // The message names a key id at most, never payload content.
    if (err instanceof PayloadDecryptionError || err instanceof PayloadDecompressionError)
      throw new HttpError(400, err.message);
    throw err;
  }
}

/** Answers a failed request with its status and message, or drops the connection once an answer has begun. */
function sendFailure(res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (err instanceof HttpError) {
    if (err.status === 413) res.setHeader('Connection', 'close');
    sendJson(res, err.status, { error: err.message });
  } else {
    sendJson(res, 500, { error: `Codec server failed: ${err instanceof Error ? err.message : String(err)}` });
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Idle keep-alive sockets (browsers, fetch) would otherwise hold close() open.
    server.closeAllConnections();
  });
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function hasBearerToken(req: IncomingMessage, tokenDigest: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match !== null && timingSafeEqual(sha256(match[1]!), tokenDigest);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function fromJson(payload: JsonPayload): Payload {
  const result: Payload = {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')]),
    ),
  };
  if (payload.data != null) result.data = Buffer.from(payload.data, 'base64');
  return result;
}

function toJson(payload: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
