/**
 * Workflow histories to and from Temporal's history JSON (the format `temporal workflow show --output json` and the
 * UI's export write), for the recorded histories under test/histories.
 *
 * The SDK has the same pair (`historyToJSON` / `historyFromJSON` in `@temporalio/common/lib/proto-utils`), but it
 * pairs protobufjs's protojson from `@temporalio/common`'s copy of protobufjs with message types built by
 * `@temporalio/proto`'s copy. In this install npm keeps two copies of protobufjs 8 (protobufjs 7 sits at the top for
 * @grpc/proto-loader), so its `instanceof Type` check fails with "type must be a Type" both ways. These take protojson
 * from the copy `@temporalio/proto` itself resolves, which works in any install layout; the output is the SDK's.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import type { History } from '@temporalio/common/lib/proto-utils';

/** Where recordings live: one folder per release and day (`<version>-<yyyy-mm-dd>`), kept alongside older ones. */
export const recordedHistoriesDir = path.join(__dirname, '..', 'histories');

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
}

interface ReflectionRoot {
  lookupType(name: string): unknown;
}

const protojson = createRequire(require.resolve('@temporalio/proto'))('protobufjs/ext/protojson') as ProtoJson;
// Patched as the SDK patches it: the CommonJS exports object, not an ES module namespace (vitest makes one).
const protoRoot = createRequire(__filename)('@temporalio/proto') as Record<string, unknown>;
const historyType = (patchProtobufRoot(protoRoot) as unknown as ReflectionRoot).lookupType(
  'temporal.api.history.v1.History',
);

/** A history as fetched from the server (`handle.fetchHistory()`), as history JSON text. */
export function historyToJSON(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return JSON.stringify(protojson.toJson(historyType, message), null, 2);
}

/**
 * Parsed history JSON as a History the replayer takes. Fields a newer server added are ignored, as the SDK does.
 * @throws when `json` is not a history
 */
export function historyFromJSON(json: unknown): History {
  const history = protojson.fromJson(historyType, json, { ignoreUnknownFields: true });
  if (history === null || typeof history !== 'object') throw new TypeError('not a workflow history');
  return history;
}
