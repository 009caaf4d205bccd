/**
 * Payload encryption: every payload fraudflow hands to Temporal (workflow input, activity arguments and results,
 * the decision) is sealed with AES-256-GCM before it leaves the process, so the workflow history holds only
 * ciphertext. Analysts read it in the Temporal UI through the codec server (`src/codec/server.ts`), which uses the
 * same codec.
 *
 * Wire format, compatible with Temporal's samples: metadata `encoding: binary/encrypted` and
 * `encryption-key-id: <kid>`; data is IV (12 bytes) || ciphertext || GCM tag (16 bytes); the plaintext is the whole
 * original Payload, proto-encoded, so its own metadata (the JSON encoding, message type) is sealed too.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { CompressionCodec } from './compression-codec';
import { payloadOnTheWire } from './wire';

/** The `encoding` metadata value of a sealed payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata key naming the key a payload was sealed with. */
export const METADATA_ENCRYPTION_KEY_ID = 'encryption-key-id';

const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
// 96-bit IVs are GCM's native size; a random one per payload keeps the collision odds negligible for far more
// payloads than one key will ever seal.
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** The keys a codec may use: it seals with the active key and opens with any key in the ring (rotation). */
export interface CodecKeyring {
  /** Id of the key every new payload is sealed with; must be in `keys`. */
  activeKeyId: string;
  /** Key id → 32-byte AES-256 key. Keep retired keys here for as long as histories sealed with them are kept. */
  keys: Map<string, Buffer>;
}

/** Thrown when a sealed payload cannot be opened: unknown key id, truncated, or failing authentication. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
  constructor(
    message: string,
    /** The key id the payload names, when it names one. */
    readonly keyId?: string,
  ) {
    super(message);
  }
}

/** A Temporal {@link PayloadCodec} that seals each payload with AES-256-GCM under the keyring's active key. */
export class EncryptionCodec implements PayloadCodec {
  private readonly activeKeyId: string;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(keyring: CodecKeyring) {
    validateKeyring(keyring);
    this.activeKeyId = keyring.activeKeyId;
    // A private copy: changing the caller's map later must not change what this codec accepts.
    this.keys = new Map([...keyring.keys].map(([kid, key]) => [kid, Buffer.from(key)]));
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return settle(() => payloads.map((payload) => this.encodeOne(payload)));
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return settle(() => payloads.map((payload) => this.decodeOne(payload)));
  }

  private encodeOne(payload: Payload): Payload {
    const key = this.keys.get(this.activeKeyId) as Buffer;
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: utf8Encoder.encode(ENCRYPTED_ENCODING),
        [METADATA_ENCRYPTION_KEY_ID]: utf8Encoder.encode(this.activeKeyId),
      },
      data: seal(temporal.api.common.v1.Payload.encode(payload).finish(), key),
    };
  }

  private decodeOne(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || utf8Decoder.decode(encoding) !== ENCRYPTED_ENCODING) return payload;

    const kidBytes = payload.metadata?.[METADATA_ENCRYPTION_KEY_ID];
    if (!kidBytes) {
      throw new PayloadDecryptionError(`Encrypted payload has no '${METADATA_ENCRYPTION_KEY_ID}' metadata`);
    }
    const keyId = utf8Decoder.decode(kidBytes);
    const key = this.keys.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `Payload was encrypted with key id '${keyId}', which is not in the codec keyring ` +
          `(known: ${[...this.keys.keys()].join(', ')}); add it to FRAUDFLOW_CODEC_KEYS to read this history`,
        keyId,
      );
    }
    const plaintext = open(payload.data ?? new Uint8Array(), key, keyId);
    let decoded: temporal.api.common.v1.Payload;
    try {
      decoded = temporal.api.common.v1.Payload.decode(plaintext);
    } catch (err) {
      throw new PayloadDecryptionError(
        `Decrypted payload (key id '${keyId}') is not a protobuf Payload: ${(err as Error).message}`,
        keyId,
      );
    }
    return payloadOnTheWire(decoded);
  }
}

/**
 * The data converter clients and workers pass to Temporal: every payload compressed (when `compress`, the default)
 * and then encrypted. Temporal applies `payloadCodecs` in order on encode and in reverse on decode.
 */
export function createDataConverter(
  keyring: CodecKeyring,
  opts: { compress: boolean } = { compress: true },
): DataConverter {
  return { payloadCodecs: [new CompressionCodec(opts), new EncryptionCodec(keyring)] };
}

/** Runs synchronous codec work, turning a throw into a rejected promise as the PayloadCodec contract expects. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Random IVs drawn from a pool filled 4,096 at a time: as random as one `randomBytes` call per payload, without a
 * call into the system's random source for every payload (a measurable share of a worker's CPU per decision).
 */
const ivPool = { bytes: Buffer.alloc(0), next: 0 };
function nextIv(): Buffer {
  if (ivPool.next + IV_BYTES > ivPool.bytes.length) {
    ivPool.bytes = randomBytes(IV_BYTES * 4096);
    ivPool.next = 0;
  }
  const iv = ivPool.bytes.subarray(ivPool.next, ivPool.next + IV_BYTES);
  ivPool.next += IV_BYTES;
  return iv;
}

function seal(plaintext: Uint8Array, key: Buffer): Uint8Array {
  const iv = nextIv();
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(sealed: Uint8Array, key: Buffer, keyId: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) {
    throw new PayloadDecryptionError(`Encrypted payload (key id '${keyId}') is truncated`, keyId);
  }
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const ciphertext = sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new PayloadDecryptionError(
      `Encrypted payload (key id '${keyId}') failed authentication: it was altered, or the key with this id is not ` +
        `the one it was encrypted with`,
      keyId,
    );
  }
}

function validateKeyring(keyring: CodecKeyring): void {
  if (keyring.keys.size === 0) throw new Error('Codec keyring has no keys');
  for (const [kid, key] of keyring.keys) {
    if (kid.trim() === '') throw new Error('Codec keyring has a key with an empty id');
    if (key.length !== KEY_BYTES) {
      throw new Error(`Codec key '${kid}' is ${key.length} bytes; AES-256 needs exactly ${KEY_BYTES}`);
    }
  }
  if (!keyring.keys.has(keyring.activeKeyId)) {
    throw new Error(`Codec keyring's active key id '${keyring.activeKeyId}' is not among its keys`);
  }
}

// Standard or URL-safe alphabet, padding optional: what `openssl rand -base64 32` and most tools print.
const base64Pattern = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Decodes one key, naming it (never its material) in every error. */
function decodeKey(kid: string, base64: string, where: string): Buffer {
  if (!base64Pattern.test(base64)) throw new Error(`${where}: key '${kid}' is not valid base64`);
  const key = Buffer.from(base64, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(
      `${where}: key '${kid}' decodes to ${key.length} bytes; AES-256 needs exactly ${KEY_BYTES} ` +
        `(generate one with \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

/**
 * Parses `FRAUDFLOW_CODEC_KEYS`: `kid1:<base64 of 32 bytes>,kid2:<base64>`. The first entry is the active key;
 * the others only decrypt (keep them while histories sealed with them are retained).
 */
export function parseCodecKeys(spec: string): CodecKeyring {
  const where = 'FRAUDFLOW_CODEC_KEYS';
  const entries = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) throw new Error(`${where} is empty; expected kid1:<base64 of 32 bytes>[,kid2:<base64>]`);

  const keys = new Map<string, Buffer>();
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon < 0) {
      throw new Error(`${where}: entry ${index + 1} has no ':'; expected <key id>:<base64 of 32 bytes>`);
    }
    const kid = entry.slice(0, colon).trim();
    if (kid === '') throw new Error(`${where}: entry ${index + 1} has an empty key id`);
    if (keys.has(kid)) throw new Error(`${where}: key id '${kid}' appears more than once`);
    keys.set(kid, decodeKey(kid, entry.slice(colon + 1).trim(), where));
  });
  return { activeKeyId: entries[0]!.slice(0, entries[0]!.indexOf(':')).trim(), keys };
}

/** The key file: `{ "activeKeyId": "...", "keys": { "<kid>": "<base64 of 32 bytes>" } }`. */
const CodecKeyFile = z
  .object({
    activeKeyId: z.string().regex(/\S/, 'must not be blank'),
    keys: z.record(z.string().regex(/\S/, 'key ids must not be blank'), z.string()),
  })
  .refine((file) => Object.hasOwn(file.keys, file.activeKeyId), {
    message: 'activeKeyId must name one of the keys',
    path: ['activeKeyId'],
  });
type CodecKeyFile = z.infer<typeof CodecKeyFile>;

export interface LoadCodecKeyringOptions {
  /**
   * The `FRAUDFLOW_CODEC_KEYS` value; when set (non-blank) it wins over the key file.
   * @default undefined
   */
  keysSpec?: string;
  /** Path of the JSON key file used when `keysSpec` is not set. */
  keysFile: string;
  /** Generate a fresh key into `keysFile` (mode 0600) when it does not exist: for local development only. */
  createIfMissing: boolean;
}

/**
 * Loads the codec keyring: from `keysSpec` if set, else from `keysFile`, generating a development key there when
 * it is missing and `createIfMissing` is set.
 */
export function loadCodecKeyring(opts: LoadCodecKeyringOptions): CodecKeyring {
  if (opts.keysSpec !== undefined && opts.keysSpec.trim() !== '') return parseCodecKeys(opts.keysSpec);

  const existing = readKeyFile(opts.keysFile);
  if (existing) return existing;
  if (!opts.createIfMissing) {
    throw new Error(
      `No payload encryption keys: FRAUDFLOW_CODEC_KEYS is not set and the key file ${opts.keysFile} does not ` +
        `exist. Set FRAUDFLOW_CODEC_KEYS=<key id>:<base64 of 32 bytes> (for example ` +
        `prod-1:$(openssl rand -base64 32)), the same on every worker, client and codec server.`,
    );
  }

  const activeKeyId = `dev-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
  const file: CodecKeyFile = { activeKeyId, keys: { [activeKeyId]: randomBytes(KEY_BYTES).toString('base64') } };
  mkdirSync(dirname(opts.keysFile), { recursive: true, mode: 0o700 });
  try {
    // 'wx': if another process created the file first, keep its key rather than overwrite it.
    writeFileSync(opts.keysFile, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readKeyFile(opts.keysFile) as CodecKeyring;
}

/** Reads and validates the key file; undefined if it does not exist. */
function readKeyFile(path: string): CodecKeyring | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`Codec key file ${path} is not valid JSON`);
  }
  const parsed = CodecKeyFile.safeParse(json);
  if (!parsed.success) throw new Error(`Codec key file ${path} is invalid:\n${z.prettifyError(parsed.error)}`);
  const keys = new Map<string, Buffer>();
  for (const [kid, base64] of Object.entries(parsed.data.keys)) {
    keys.set(kid, decodeKey(kid, base64.trim(), `Codec key file ${path}`));
  }
  return { activeKeyId: parsed.data.activeKeyId, keys };
}
