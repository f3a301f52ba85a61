/** Binary OTLP: export requests decoded and responses encoded with protobufjs over the shipped otlp.proto. */
import { join } from "node:path";
import protobuf from "protobufjs";
import type { Signal } from "./signals.ts";

const root = protobuf.loadSync(join(import.meta.dirname, "proto", "otlp.proto"));
const type = (name: string): protobuf.Type => root.lookupType(`opentelemetry.proto.${name}`);

const REQUESTS: Readonly<Record<Signal, protobuf.Type>> = {
  traces: type("ExportTraceServiceRequest"),
  logs: type("ExportLogsServiceRequest"),
  metrics: type("ExportMetricsServiceRequest"),
};

const RESPONSES: Readonly<Record<Signal, protobuf.Type>> = {
  traces: type("ExportTraceServiceResponse"),
  logs: type("ExportLogsServiceResponse"),
  metrics: type("ExportMetricsServiceResponse"),
};

const RPC_STATUS = type("RpcStatus");

/**
 * The request as a plain message tree: bytes as Buffers, 64-bit integers as `Long`s of the `long` package,
 * enums as numbers, absent oneof members undefined. Throws a protobufjs error on malformed input.
 */
export function decodeProtobufRequest(signal: Signal, body: Uint8Array): unknown {
  return REQUESTS[signal].decode(body);
}

/** `Export…ServiceResponse`, with `partial_success` when some items were rejected. */
export function encodeProtobufResponse(signal: Signal, rejected: number, errorMessage: string): Uint8Array {
  if (rejected === 0 && errorMessage === "") return new Uint8Array(0);
  const field = PARTIAL_SUCCESS_FIELDS[signal];
  return RESPONSES[signal].encode({ partialSuccess: { [field]: rejected, errorMessage } }).finish();
}

/** google.rpc.Status for 4xx/5xx answers to protobuf clients. */
export function encodeProtobufStatus(code: number, message: string): Uint8Array {
  return RPC_STATUS.encode({ code, message }).finish();
}

/** The per-signal name of the rejected-items count in `partial_success` (camelCase, as OTLP/JSON spells it). */
export const PARTIAL_SUCCESS_FIELDS: Readonly<Record<Signal, string>> = {
  traces: "rejectedSpans",
  logs: "rejectedLogRecords",
  metrics: "rejectedDataPoints",
};
