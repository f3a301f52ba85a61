// What a request can get wrong, and what the receiver answers: a clear 4xx (or 429/503 with Retry-After),
// nothing kept in the spool, and the server still serving the next good request.
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProtobufRequest } from "../../../src/connectors/otlp/protobuf.ts";
import { startIngest, type Ingest } from "./ingest.ts";
import protobuf from "protobufjs";
import { join } from "node:path";

const root = protobuf.loadSync(join(import.meta.dirname, "../../../src/connectors/otlp/proto/otlp.proto"));
const TraceRequest = root.lookupType("opentelemetry.proto.ExportTraceServiceRequest");
const TraceResponse = root.lookupType("opentelemetry.proto.ExportTraceServiceResponse");
const RpcStatus = root.lookupType("opentelemetry.proto.RpcStatus");

const TRACE = "5b8efff798038103d269b633813fc60c";
const SPAN = "eee19b7ec3c1b174";

function jsonSpans(spans: Record<string, unknown>[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: "service.name", value: { stringValue: "bad-input" } }] },
        scopeSpans: [{ scope: { name: "t" }, spans }],
      },
    ],
  };
}
const span = (overrides: Record<string, unknown> = {}) => ({
  traceId: TRACE,
  spanId: SPAN,
  name: "op",
  kind: 2,
  startTimeUnixNano: "1700000000000000000",
  endTimeUnixNano: "1700000000500000000",
  ...overrides,
});

function protobufSpans(count: number): Uint8Array {
  const spans = Array.from({ length: count }, (_, i) => ({
    traceId: Buffer.from(TRACE, "hex"),
    spanId: Buffer.from((BigInt(`0x${SPAN}`) + BigInt(i)).toString(16).padStart(16, "0"), "hex"),
    name: `op-${i}`,
    startTimeUnixNano: 1,
    endTimeUnixNano: 2,
  }));
  return TraceRequest.encode(TraceRequest.fromObject(jsonSpans(spans))).finish();
}

describe("OTLP receiver: bad input", () => {
  let ingest: Ingest;
  const spooled = () => ingest.lease.receiver.spool("traces").endOffset;

  beforeAll(async () => {
    ingest = await startIngest({
      config: { maxBodyBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024, spool: { maxBytes: 1024 * 1024 } },
    });
  });
  afterAll(() => ingest?.stop());

  async function post(path: string, body: Uint8Array | string, headers: Record<string, string>) {
    return fetch(`${ingest.url}${path}`, { method: "POST", body, headers });
  }

  async function refused(response: Response, status: number, message: RegExp) {
    const before = spooled();
    expect(response.status).toBe(status);
    const type = response.headers.get("content-type");
    const body = new Uint8Array(await response.arrayBuffer());
    const decoded =
      type === "application/x-protobuf"
        ? (RpcStatus.toObject(RpcStatus.decode(body)) as { message: string })
        : (JSON.parse(Buffer.from(body).toString()) as { message: string });
    expect(decoded.message).toMatch(message);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(spooled()).toBe(before);
  }

  it("accepts a good request (the baseline the others differ from) and echoes the correlation id", async () => {
    const response = await post("/v1/traces", JSON.stringify(jsonSpans([span()])), {
      "content-type": "application/json",
      "x-request-id": "req-123",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe("req-123");
    expect(await response.json()).toEqual({});
    expect(spooled()).toBeGreaterThan(0);
  });

  it("400 for truncated protobuf", async () => {
    const body = protobufSpans(3);
    const before = spooled();
    const response = await post("/v1/traces", body.subarray(0, body.length - 7), {
      "content-type": "application/x-protobuf",
    });
    await refused(response, 400, /not a valid protobuf ExportTraceServiceRequest/);
    expect(spooled()).toBe(before);
  });

  it("415 for a content type OTLP does not define, and for an unknown Content-Encoding", async () => {
    await refused(
      await post("/v1/traces", "x", { "content-type": "text/plain" }),
      415,
      /Content-Type 'text\/plain'/,
    );
    await refused(
      await post("/v1/traces", "{}", { "content-type": "application/json", "content-encoding": "br" }),
      415,
      /Content-Encoding 'br'/,
    );
  });

  it("400 for invalid JSON, naming where it breaks", async () => {
    await refused(
      await post("/v1/traces", '{"resourceSpans": [', { "content-type": "application/json" }),
      400,
      /not valid JSON \(.*\)/,
    );
    await refused(
      await post("/v1/traces", "[1]", { "content-type": "application/json" }),
      400,
      /must be a JSON object/,
    );
  });

  it("400 for invalid ids and ill-typed fields, naming the JSON path", async () => {
    const body = (s: Record<string, unknown>) => JSON.stringify(jsonSpans([span(), s]));
    const json = { "content-type": "application/json" };
    await refused(
      await post("/v1/traces", body(span({ traceId: "xyz" })), json),
      400,
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]\.traceId: expected 32 hex digits/,
    );
    await refused(await post("/v1/traces", body(span({ spanId: "abcd" })), json), 400, /spans\[1\]\.spanId/);
    await refused(
      await post("/v1/traces", body(span({ startTimeUnixNano: "soon" })), json),
      400,
      /startTimeUnixNano: expected a 64-bit unsigned integer/,
    );
    const wrongLength = TraceRequest.encode(
      TraceRequest.fromObject(
        jsonSpans([{ traceId: Buffer.from("0102", "hex"), spanId: Buffer.alloc(8, 1) }]),
      ),
    ).finish();
    await refused(
      await post("/v1/traces", wrongLength, { "content-type": "application/x-protobuf" }),
      400,
      /traceId: expected 16 bytes, got 2/,
    );
  });

  it("413 for a body over maxBodyBytes, before reading it", async () => {
    await refused(
      await post("/v1/traces", "x".repeat(70 * 1024), { "content-type": "application/json" }),
      413,
      /larger than the limit of 65536 bytes/,
    );
  });

  it("413 for a gzip bomb: decompression stops at maxDecompressedBytes", async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    await refused(
      await post("/v1/traces", bomb, { "content-type": "application/json", "content-encoding": "gzip" }),
      413,
      /decompressed request body is larger than the limit of 262144 bytes/,
    );
    await refused(
      await post("/v1/traces", Buffer.from("not gzip"), {
        "content-type": "application/x-protobuf",
        "content-encoding": "gzip",
      }),
      400,
      /could not be decompressed/,
    );
  });

  it("404 and 405 for other paths and methods", async () => {
    await refused(
      await post("/v1/spans", "{}", { "content-type": "application/json" }),
      404,
      /POST \/v1\/traces/,
    );
    const get = await fetch(`${ingest.url}/v1/traces`);
    expect(get.headers.get("allow")).toBe("POST");
    await refused(get, 405, /send POST/);
  });

  it("answers partial_success when some spans are invalid, keeping the valid ones (protobuf and JSON)", async () => {
    const zero = "0".repeat(32);
    const response = await post(
      "/v1/traces",
      JSON.stringify(jsonSpans([span(), span({ traceId: zero }), span({ spanId: "" })])),
      { "content-type": "application/json" },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      partialSuccess: {
        rejectedSpans: "2",
        errorMessage: expect.stringMatching(/non-zero traceId and spanId/),
      },
    });
    const pb = TraceRequest.encode(
      TraceRequest.fromObject(jsonSpans([{ traceId: Buffer.alloc(16), spanId: Buffer.alloc(8, 1) }])),
    ).finish();
    const answer = await post("/v1/traces", pb, { "content-type": "application/x-protobuf" });
    expect(answer.status).toBe(200);
    const decoded = TraceResponse.toObject(TraceResponse.decode(new Uint8Array(await answer.arrayBuffer())), {
      longs: String,
    });
    expect(decoded.partialSuccess).toMatchObject({ rejectedSpans: "1" });
  });

  it("503 with Retry-After when the spool is full (no processor drains it), the server still up", async () => {
    const body = protobufSpans(300);
    let response: Response;
    do response = await post("/v1/traces", body, { "content-type": "application/x-protobuf" });
    while (response.status === 200);
    expect(response.headers.get("retry-after")).toBe("1");
    await refused(response, 503, /spool is full/);
    const health = await fetch(`${ingest.url}/health`);
    expect(health.status).toBe(200);
  });

  it("decodes what it accepted back to the same request (sanity of the shipped .proto)", () => {
    const decoded = decodeProtobufRequest("traces", protobufSpans(2)) as { resourceSpans: unknown[] };
    expect(decoded.resourceSpans).toHaveLength(1);
  });
});

describe("OTLP receiver: authentication and rate limits", () => {
  let ingest: Ingest;
  beforeAll(async () => {
    ingest = await startIngest({
      config: {
        bearerTokens: ["s3cret"],
        apiKeys: ["key-1"],
        apiKeyHeader: "X-Api-Key",
        rateLimit: { requestsPerSecond: 1, burst: 2 },
      },
    });
  });
  afterAll(() => ingest?.stop());

  const send = (headers: Record<string, string>) =>
    fetch(`${ingest.url}/v1/logs`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json", ...headers },
    });

  it("401 without credentials or with wrong ones; bearer tokens and API keys both work", async () => {
    const none = await send({});
    expect(none.status).toBe(401);
    expect(((await none.json()) as { message: string }).message).toMatch(/Authorization: Bearer/);
    expect((await send({ authorization: "Bearer nope" })).status).toBe(401);
    expect((await send({ authorization: "Bearer s3cret" })).status).toBe(200);
    expect((await send({ "x-api-key": "key-1" })).status).toBe(200);
  });

  it("429 with Retry-After once a client spent its burst; other clients are not affected", async () => {
    expect((await send({ authorization: "Bearer s3cret" })).status).toBe(200);
    const limited = await send({ authorization: "Bearer s3cret" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await send({ "x-api-key": "key-1" })).status).toBe(200);
  });
});
