/**
 * The data converter every fraudflow client and worker uses: payloads encrypted with the configured keyring.
 * The keyring is loaded once per process. On the dev stack, with no FRAUDFLOW_CODEC_KEYS, a key is generated
 * into the data dir on first use and shared by every process that reads that dir.
 */
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../config';
import type { CodecKeyring } from './payload-codec';
import { createDataConverter, loadCodecKeyring } from './payload-codec';
import { CompressionCodec } from './compression-codec';

export type { CodecKeyring } from './payload-codec';

let cached: { file: string; spec?: string; keyring: CodecKeyring } | undefined;

export function codecKeyring(config: Config): CodecKeyring {
  const { keysSpec, keysFile } = config.codec;
  if (cached && cached.file === keysFile && cached.spec === keysSpec) return cached.keyring;
  const keyring = loadCodecKeyring({ keysSpec, keysFile, createIfMissing: true });
  cached = { file: keysFile, spec: keysSpec, keyring };
  return keyring;
}

/**
 * The payload codecs for clients and workers: compression (PAYLOAD_COMPRESSION; decoding always, so compressed
 * payloads read wherever they came from) and encryption (PAYLOAD_ENCRYPTION).
 */
export function dataConverterFor(config: Config): DataConverter {
  const compress = { compress: config.codec.compression };
  return config.codec.enabled
    ? createDataConverter(codecKeyring(config), compress)
    : { payloadCodecs: [new CompressionCodec(compress)] };
}
