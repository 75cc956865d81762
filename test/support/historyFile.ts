/**
 * Reads a history saved as `temporal workflow show --output json` writes it.
 * The SDK's historyFromJSON fails here with "type must be a Type": in this
 * install @temporalio/common and @temporalio/proto each carry their own
 * protobufjs 8, and protojson's instanceof check sees two classes. So the
 * JSON is parsed with the protobufjs that @temporalio/proto's types belong to.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

type ProtoJson = { fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- resolved from @temporalio/proto's own dependencies
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto'))] })) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export function readHistoryFile(path: string): proto.temporal.api.history.v1.IHistory {
  const history = protojson.fromJson(historyType, JSON.parse(readFileSync(path, 'utf8')), { ignoreUnknownFields: true });
  if (!history) throw new TypeError(`${path} is no history`);
  return history as proto.temporal.api.history.v1.IHistory;
}
