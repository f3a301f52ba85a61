/** A request body (decompressed) → mapped records, for both encodings: the receiver and spool replay share it. */
import { mapRequest, type MappedRequest } from "./mapping.ts";
import { decodeProtobufRequest } from "./protobuf.ts";
import type { Signal } from "./signals.ts";
import type { BodyEncoding } from "./spool.ts";
import { OtlpInputError } from "./values.ts";

const REQUEST_NAMES: Readonly<Record<Signal, string>> = {
  traces: "ExportTraceServiceRequest",
  logs: "ExportLogsServiceRequest",
  metrics: "ExportMetricsServiceRequest",
};

/** Throws {@link OtlpInputError} with a message that says what is wrong where. */
export function decodeRequest(
  signal: Signal,
  encoding: BodyEncoding,
  body: Uint8Array,
  receivedAt: number,
): MappedRequest {
  return mapRequest(signal, parseBody(signal, encoding, body), receivedAt);
}

function parseBody(signal: Signal, encoding: BodyEncoding, body: Uint8Array): unknown {
  if (encoding === "protobuf") {
    try {
      return decodeProtobufRequest(signal, body);
    } catch (error) {
      throw new OtlpInputError(
        `the body is not a valid protobuf ${REQUEST_NAMES[signal]} (${(error as Error).message}); ` +
          "send the binary OTLP encoding with Content-Type: application/x-protobuf, or JSON with application/json",
      );
    }
  }
  const text = Buffer.from(body.buffer, body.byteOffset, body.length).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = (error as Error).message.slice(0, 200);
    throw new OtlpInputError(
      `the body is not valid JSON (${reason}); send an OTLP/JSON ${REQUEST_NAMES[signal]}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new OtlpInputError(`the body must be a JSON object (an OTLP/JSON ${REQUEST_NAMES[signal]})`);
  return parsed;
}
