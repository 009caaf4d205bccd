import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CodecKeyring } from '../../src/codec/payload-codec';
import { startCodecServer } from '../../src/codec/server';
import type { CodecServer } from '../../src/codec/server';

interface JsonPayload {
  metadata: Record<string, string>;
  data: string;
}

const token = `codec-test-${randomBytes(8).toString('hex')}`;
const uiOrigin = 'http://127.0.0.1:8233';
const transaction = { transactionId: 'txn-codec-server-1', cardToken: 'tok_codec_server', email: 'c@example.com' };

function toJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

function fromJson(payload: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(payload.data, 'base64'),
  };
}

describe('codec server', () => {
  const keyring: CodecKeyring = { activeKeyId: 'server-key', keys: new Map([['server-key', randomBytes(32)]]) };
  let server: CodecServer;

  beforeAll(async () => {
    server = await startCodecServer({ keyring, port: 0, token, corsOrigins: [uiOrigin] });
  });
  afterAll(async () => {
    await server?.close();
  });

  function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, ...headers },
      body,
    });
  }

  async function postPayloads(path: string, payloads: JsonPayload[]): Promise<JsonPayload[]> {
    const res = await post(path, JSON.stringify({ payloads }));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    return ((await res.json()) as { payloads: JsonPayload[] }).payloads;
  }

  it('listens on loopback', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('round-trips a payload through POST /encode and POST /decode', async () => {
    const original = defaultPayloadConverter.toPayload(transaction);
    const encoded = await postPayloads('/encode', [toJson(original)]);
    expect(encoded).toHaveLength(1);
    expect(Buffer.from(encoded[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(encoded[0]!.data, 'base64').includes('tok_codec_server')).toBe(false);

    const decoded = await postPayloads('/decode', encoded);
    expect(defaultPayloadConverter.fromPayload(fromJson(decoded[0]!))).toEqual(transaction);
  });

  it('accepts a namespace path prefix: POST /default/decode', async () => {
    const encoded = await postPayloads('/default/encode', [toJson(defaultPayloadConverter.toPayload(transaction))]);
    const decoded = await postPayloads('/default/decode', encoded);
    expect(defaultPayloadConverter.fromPayload(fromJson(decoded[0]!))).toEqual(transaction);
  });

  it('answers 401 without a token or with a wrong one, and reveals nothing', async () => {
    const body = JSON.stringify({ payloads: [toJson(defaultPayloadConverter.toPayload(transaction))] });
    const missing = await fetch(`${server.url}/encode`, { method: 'POST', body });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toMatch(/Bearer/);

    const wrong = await post('/decode', body, { Authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    const text = await wrong.text();
    expect(text).not.toContain(token);
    expect(text).not.toContain('payloads');
  });

  it('answers a preflight from the allowed origin with 204 and the CORS headers, without a token', async () => {
    const res = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: uiOrigin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type, authorization, x-namespace',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(uiOrigin);
    expect(res.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type, Authorization, X-Namespace');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('gives a disallowed origin no Access-Control-Allow-Origin header', async () => {
    const preflight = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();

    const res = await post('/encode', JSON.stringify({ payloads: [] }), { Origin: 'http://evil.example' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('answers 400 with a readable message to a body that is not JSON or not { payloads: [...] }', async () => {
    const notJson = await post('/decode', '{"payloads": [');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toMatch(/not valid JSON/);

    const wrongShape = await post('/decode', JSON.stringify({ payload: [] }));
    expect(wrongShape.status).toBe(400);
    expect(((await wrongShape.json()) as { error: string }).error).toMatch(/payloads/);

    const badBytes = await post('/decode', JSON.stringify({ payloads: [{ metadata: { encoding: '*not base64*' } }] }));
    expect(badBytes.status).toBe(400);
    expect(((await badBytes.json()) as { error: string }).error).toMatch(/base64/);
  });

  it('answers 400 naming the key id when asked to decode a payload sealed under an unknown key', async () => {
    const foreign = {
      metadata: {
        encoding: Buffer.from('binary/encrypted').toString('base64'),
        'encryption-key-id': Buffer.from('someone-elses-key').toString('base64'),
      },
      data: randomBytes(64).toString('base64'),
    };
    const res = await post('/decode', JSON.stringify({ payloads: [foreign] }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/someone-elses-key/);
  });

  it('answers 404 outside the codec endpoints', async () => {
    const res = await post('/', JSON.stringify({ payloads: [] }));
    expect(res.status).toBe(404);
  });
});
