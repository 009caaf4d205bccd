import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { EncryptionCodec, loadCodecKeyring, parseCodecKeys, createDataConverter } from '../../src/codec/payload-codec';
import type { CodecKeyring } from '../../src/codec/payload-codec';
import {
  CodecChain,
  COMPRESSED_ENCODING,
  CompressionCodec,
  PayloadDecompressionError,
} from '../../src/codec/compression-codec';

const cardToken = 'tok_4111111111111111_codec_marker';
const email = 'ada.lovelace.codec@example.com';
const transaction = {
  transactionId: 'txn-codec-1',
  cardToken,
  customer: { email, name: 'Ada Lovelace' },
  amount: { value: 149.99, currency: 'EUR' },
};

function keyring(activeKeyId: string, keys: Record<string, Buffer>): CodecKeyring {
  return { activeKeyId, keys: new Map(Object.entries(keys)) };
}

function text(payload: Payload, key: string): string {
  return new TextDecoder().decode(payload.metadata?.[key]);
}

describe('EncryptionCodec', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const codec = new EncryptionCodec(keyring('key-a', { 'key-a': keyA }));

  it('restores the exact payload on decode(encode(payload))', async () => {
    const payloads = [
      defaultPayloadConverter.toPayload(transaction),
      defaultPayloadConverter.toPayload(null),
      defaultPayloadConverter.toPayload(new Uint8Array([0, 1, 2, 255])),
    ];
    const decoded = await codec.decode(await codec.encode(payloads));
    expect(decoded).toEqual(payloads);
    expect(defaultPayloadConverter.fromPayload(decoded[0]!)).toEqual(transaction);
  });

  it('seals transaction data: no card token or e-mail in the encoded bytes, encrypted metadata only', async () => {
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(transaction)]);
    const bytes = Buffer.from(encoded!.data!);
    expect(bytes.includes(cardToken)).toBe(false);
    expect(bytes.includes(email)).toBe(false);
    expect(bytes.includes('json/plain')).toBe(false);
    expect(Object.keys(encoded!.metadata!).sort()).toEqual(['encoding', 'encryption-key-id']);
    expect(text(encoded!, 'encoding')).toBe('binary/encrypted');
    expect(text(encoded!, 'encryption-key-id')).toBe('key-a');
  });

  it('never repeats an IV, across refills of its pool of random IVs', async () => {
    const payload = defaultPayloadConverter.toPayload('x');
    const sealed = await codec.encode(Array.from({ length: 10_000 }, () => payload));
    const ivs = new Set(sealed.map((p) => Buffer.from(p.data!.subarray(0, 12)).toString('hex')));
    expect(ivs.size).toBe(10_000);
    expect(await codec.decode(sealed.slice(-3))).toEqual([payload, payload, payload]);
  });

  it('produces different ciphertext for two encodings of the same payload (random IV)', async () => {
    const payload = defaultPayloadConverter.toPayload(transaction);
    const [first, second] = await codec.encode([payload, payload]);
    expect(Buffer.from(first!.data!).equals(Buffer.from(second!.data!))).toBe(false);
    expect(Buffer.from(first!.data!).subarray(0, 12).equals(Buffer.from(second!.data!).subarray(0, 12))).toBe(false);
  });

  it('after rotation, decodes data sealed under the retired key and seals new data under the active one', async () => {
    const sealedUnderA = await codec.encode([defaultPayloadConverter.toPayload(transaction)]);
    const rotated = new EncryptionCodec(keyring('key-b', { 'key-b': keyB, 'key-a': keyA }));

    const [decoded] = await rotated.decode(sealedUnderA);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(transaction);

    const [sealedUnderB] = await rotated.encode([defaultPayloadConverter.toPayload(transaction)]);
    expect(text(sealedUnderB!, 'encryption-key-id')).toBe('key-b');
    await expect(codec.decode([sealedUnderB!])).rejects.toThrow(/'key-b'/);
  });

  it('rejects a payload sealed under a key id missing from the ring, naming that id', async () => {
    const other = new EncryptionCodec(keyring('retired-2023', { 'retired-2023': randomBytes(32) }));
    const sealed = await other.encode([defaultPayloadConverter.toPayload(transaction)]);
    await expect(codec.decode(sealed)).rejects.toThrow(/retired-2023/);
  });

  it('rejects ciphertext with one flipped byte', async () => {
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(transaction)]);
    const tampered = Buffer.from(sealed!.data!);
    tampered[20]! ^= 0x01;
    await expect(codec.decode([{ ...sealed, data: tampered }])).rejects.toThrow(/failed authentication/);
  });

  it('rejects a payload whose key id was swapped for another key in the ring', async () => {
    const ring = new EncryptionCodec(keyring('key-a', { 'key-a': keyA, 'key-b': keyB }));
    const [sealed] = await ring.encode([defaultPayloadConverter.toPayload(transaction)]);
    const relabelled = { ...sealed, metadata: { ...sealed!.metadata, 'encryption-key-id': Buffer.from('key-b') } };
    await expect(ring.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });

  it('passes payloads that are not encrypted through unchanged', async () => {
    const plain = [defaultPayloadConverter.toPayload(transaction), defaultPayloadConverter.toPayload('hello')];
    const decoded = await codec.decode(plain);
    expect(decoded[0]).toBe(plain[0]);
    expect(decoded[1]).toBe(plain[1]);
  });

  it('comes after compression in the data converter, so payloads are compressed before they are sealed', () => {
    const converter = createDataConverter(keyring('key-a', { 'key-a': keyA }));
    expect(converter.payloadCodecs).toHaveLength(2);
    expect(converter.payloadCodecs?.[0]).toBeInstanceOf(CompressionCodec);
    expect(converter.payloadCodecs?.[1]).toBeInstanceOf(EncryptionCodec);
  });
});

describe('CompressionCodec', () => {
  const codec = new CompressionCodec();
  // A decision-sized JSON payload: what the workflows carry.
  const decision = {
    ...transaction,
    reasons: Array.from({ length: 12 }, (_, i) => `rule ${i}: amount above the card's usual spend`),
    features: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`feature${i}`, i * 1.5])),
  };

  it('restores the exact payload and makes a JSON payload less than half its size', async () => {
    const payload = defaultPayloadConverter.toPayload(decision);
    const [compressed] = await codec.encode([payload]);
    expect(text(compressed!, 'encoding')).toBe(COMPRESSED_ENCODING);
    expect(compressed!.data!.length).toBeLessThan(payload.data!.length / 2);
    const [restored] = await codec.decode([compressed!]);
    expect(restored).toEqual(payload);
  });

  it('leaves small payloads and payloads that do not shrink as they are', async () => {
    const small = defaultPayloadConverter.toPayload('hello');
    const noise = defaultPayloadConverter.toPayload(new Uint8Array(randomBytes(4096)));
    const [a, b] = await codec.encode([small, noise]);
    expect(a).toBe(small);
    expect(b).toBe(noise);
  });

  it('writes plain payloads when compression is off, and still reads compressed ones', async () => {
    const payload = defaultPayloadConverter.toPayload(decision);
    const off = new CompressionCodec({ compress: false });
    const [plain] = await off.encode([payload]);
    expect(plain).toBe(payload);
    const [compressed] = await codec.encode([payload]);
    expect(await off.decode([compressed!])).toEqual([payload]);
  });

  it('refuses a payload marked compressed that does not inflate, naming why', async () => {
    const bogus: Payload = {
      metadata: { encoding: new TextEncoder().encode(COMPRESSED_ENCODING) },
      data: new Uint8Array([1, 2, 3, 4]),
    };
    await expect(codec.decode([bogus])).rejects.toThrow(PayloadDecompressionError);
  });

  it('refuses to inflate past its bound (a crafted payload cannot exhaust memory)', async () => {
    const bomb: Payload = {
      metadata: { encoding: new TextEncoder().encode(COMPRESSED_ENCODING) },
      data: deflateSync(Buffer.alloc(64 * 1024 * 1024)),
    };
    await expect(codec.decode([bomb])).rejects.toThrow(/does not inflate/);
  });

  it('with encryption: compressed, then sealed; reads back through the same converter and old sealed payloads too', async () => {
    const ring = keyring('key-a', { 'key-a': randomBytes(32) });
    const chain = new CodecChain(createDataConverter(ring).payloadCodecs ?? []);
    const payload = defaultPayloadConverter.toPayload(decision);
    const [sealed] = await chain.encode([payload]);
    expect(text(sealed!, 'encoding')).toBe('binary/encrypted');
    expect(sealed!.data!.length).toBeLessThan(payload.data!.length / 2);
    expect(await chain.decode([sealed!])).toEqual([payload]);
    // Sealed before compression existed: encryption alone.
    const [legacy] = await new EncryptionCodec(ring).encode([payload]);
    expect(await chain.decode([legacy!])).toEqual([payload]);
  });
});

describe('parseCodecKeys', () => {
  it('makes the first entry the active key and keeps the others for decoding', () => {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const ring = parseCodecKeys(`prod-2:${b.toString('base64')}, prod-1:${a.toString('base64')}`);
    expect(ring.activeKeyId).toBe('prod-2');
    expect([...ring.keys.keys()]).toEqual(['prod-2', 'prod-1']);
    expect(ring.keys.get('prod-1')?.equals(a)).toBe(true);
    expect(ring.keys.get('prod-2')?.equals(b)).toBe(true);
  });

  it('rejects a 16-byte key, naming the key id and the required length without echoing the key', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => parseCodecKeys(`short-key:${short}`)).toThrow(/'short-key'.*16 bytes.*32/);
    try {
      parseCodecKeys(`short-key:${short}`);
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });

  it('rejects an entry with an empty key id', () => {
    expect(() => parseCodecKeys(`:${randomBytes(32).toString('base64')}`)).toThrow(/empty key id/);
  });

  it('rejects an empty spec and a duplicated key id', () => {
    expect(() => parseCodecKeys(' ')).toThrow(/empty/);
    const key = randomBytes(32).toString('base64');
    expect(() => parseCodecKeys(`k:${key},k:${key}`)).toThrow(/'k' appears more than once/);
  });
});

describe('loadCodecKeyring', () => {
  it('creates a 0600 key file when missing and reuses it on the next call', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fraudflow-codec-'));
    try {
      const keysFile = join(dir, 'nested', 'codec-keys.json');
      const first = loadCodecKeyring({ keysFile, createIfMissing: true });
      expect(first.activeKeyId).toMatch(/^dev-\d{8}$/);
      expect(first.keys.get(first.activeKeyId)).toHaveLength(32);
      expect(statSync(keysFile).mode & 0o777).toBe(0o600);
      const onDisk = JSON.parse(readFileSync(keysFile, 'utf8')) as {
        activeKeyId: string;
        keys: Record<string, string>;
      };
      expect(onDisk.activeKeyId).toBe(first.activeKeyId);

      const second = loadCodecKeyring({ keysFile, createIfMissing: true });
      expect(second.activeKeyId).toBe(first.activeKeyId);
      expect(second.keys.get(second.activeKeyId)?.equals(first.keys.get(first.activeKeyId)!)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prefers FRAUDFLOW_CODEC_KEYS over the key file', () => {
    const ring = loadCodecKeyring({
      keysSpec: `env-key:${randomBytes(32).toString('base64')}`,
      keysFile: join(tmpdir(), 'fraudflow-codec-does-not-exist', 'keys.json'),
      createIfMissing: false,
    });
    expect(ring.activeKeyId).toBe('env-key');
  });

  it('tells the operator to set FRAUDFLOW_CODEC_KEYS when there is no key and creation is off', () => {
    expect(() =>
      loadCodecKeyring({
        keysFile: join(tmpdir(), 'fraudflow-codec-does-not-exist', 'keys.json'),
        createIfMissing: false,
      }),
    ).toThrow(/FRAUDFLOW_CODEC_KEYS/);
  });
});
