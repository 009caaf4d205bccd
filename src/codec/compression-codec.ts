/**
 * Payload compression: a payload is zlib-compressed before it is sealed, when that makes it smaller. fraudflow's
 * payloads are JSON (transactions, card features, decisions) and shrink to under half, so each decision leaves
 * fewer bytes in the server's history store, and encryption and gRPC handle fewer.
 *
 * Wire format, the same as the Go SDK's ZlibCodec: metadata `encoding: binary/zlib`; data is the whole original
 * Payload, proto-encoded, then zlib-deflated. Payloads without that encoding pass through decode untouched, so
 * histories written before compression still read.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { payloadOnTheWire } from './wire';

/** The `encoding` metadata value of a compressed payload. */
export const COMPRESSED_ENCODING = 'binary/zlib';

/** Payloads smaller than this stay as they are: zlib's header and the metadata would eat the gain. */
const MIN_BYTES = 256;
/**
 * The largest payload decode inflates to: above Temporal's 2 MB payload limit, so a real payload always fits and
 * a crafted one (the codec server takes posts) cannot inflate without bound.
 */
const MAX_INFLATED_BYTES = 8 * 1024 * 1024;
/**
 * zlib level 1 with a 2 KB window and small hash tables: on payloads of a few KB it compresses as well as the
 * defaults (level 6, 32 KB window) while allocating ~24 KB per call instead of ~256 KB.
 */
const DEFLATE = { level: 1, windowBits: 11, memLevel: 5 } as const;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Thrown when a payload marked compressed does not inflate to a payload. */
export class PayloadDecompressionError extends Error {
  override name = 'PayloadDecompressionError';
}

/**
 * Compresses on encode when `compress` is set; always inflates on decode, so a process that writes plain payloads
 * still reads compressed ones (a rolling change of PAYLOAD_COMPRESSION, the codec server).
 */
export class CompressionCodec implements PayloadCodec {
  constructor(private readonly opts: { compress: boolean } = { compress: true }) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(this.opts.compress ? payloads.map(compressOne) : payloads);
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    try {
      return Promise.resolve(payloads.map(inflateOne));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

function compressOne(payload: Payload): Payload {
  const plain = temporal.api.common.v1.Payload.encode(payload).finish();
  if (plain.length < MIN_BYTES) return payload;
  const compressed = deflateSync(plain, DEFLATE);
  if (compressed.length + COMPRESSED_ENCODING.length + 16 >= plain.length) return payload;
  return { metadata: { [METADATA_ENCODING_KEY]: utf8Encoder.encode(COMPRESSED_ENCODING) }, data: compressed };
}

function inflateOne(payload: Payload): Payload {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  if (!encoding || utf8Decoder.decode(encoding) !== COMPRESSED_ENCODING) return payload;
  let decoded: temporal.api.common.v1.Payload;
  try {
    const plain = inflateSync(payload.data ?? new Uint8Array(), { maxOutputLength: MAX_INFLATED_BYTES });
    decoded = temporal.api.common.v1.Payload.decode(plain);
  } catch (err) {
    throw new PayloadDecompressionError(`Compressed payload does not inflate to a payload: ${(err as Error).message}`);
  }
  return payloadOnTheWire(decoded);
}

/**
 * Codecs applied in order on encode and in reverse on decode, as Temporal's data converter applies its
 * `payloadCodecs`: what the codec server runs, so the UI reads exactly what the workers wrote.
 */
export class CodecChain implements PayloadCodec {
  constructor(readonly codecs: readonly PayloadCodec[]) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    let out = payloads;
    for (const codec of this.codecs) out = await codec.encode(out);
    return out;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    let out = payloads;
    for (const codec of [...this.codecs].reverse()) out = await codec.decode(out);
    return out;
  }
}
