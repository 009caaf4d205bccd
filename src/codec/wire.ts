/** The payload shape both codecs hand back on decode. */
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

/**
 * A payload a codec decoded back from its proto encoding, with only the fields that were on the wire, as plain
 * Uint8Arrays (protobufjs hands out Buffers), so decode(encode(p)) has exactly p's shape.
 */
export function payloadOnTheWire(decoded: temporal.api.common.v1.Payload): Payload {
  const result: Payload = {
    metadata: Object.fromEntries(Object.entries(decoded.metadata).map(([name, value]) => [name, plainBytes(value)])),
  };
  if (Object.prototype.hasOwnProperty.call(decoded, 'data')) result.data = plainBytes(decoded.data);
  if (decoded.externalPayloads.length > 0) result.externalPayloads = decoded.externalPayloads;
  return result;
}

function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
