// The real OpenTelemetry JS SDK exports spans (protobuf and JSON exporters, gzip too) to the receiver; a
// raw-ingest processor merges them into MongoDB; every stored field is checked against what the SDK made.
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { Long } from "bson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useMongoDatabase } from "../../support/mongo.ts";
import { testServices } from "../../support/services.ts";
import { eventually, startIngest, type Ingest } from "./ingest.ts";

const hrNanos = ([seconds, nanos]: [number, number]) => BigInt(seconds) * 1_000_000_000n + BigInt(nanos);

describe("OTLP traces from the OpenTelemetry SDK into MongoDB", () => {
  const mongo = useMongoDatabase("otlp_traces");
  let ingest: Ingest;

  beforeAll(async () => {
    ingest = await startIngest({
      signals: ["traces"],
      into: { uri: testServices().mongodbUri, db: mongo.db, coll: () => "traces" },
    });
  });
  afterAll(() => ingest?.stop());

  async function exportWith(exporter: SpanExporter, service: string): Promise<ReadableSpan[]> {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        "service.name": service,
        "deployment.environment": "test",
        "host.cpu": 4,
      }),
      spanProcessors: [new SimpleSpanProcessor(exporter), new SimpleSpanProcessor(memory)],
    });
    const tracer = provider.getTracer("checkout-lib", "1.2.3");
    const parent = tracer.startSpan("GET /cart", {
      kind: SpanKind.SERVER,
      attributes: {
        "http.method": "GET",
        "http.status_code": 500,
        retry: true,
        ratio: 0.25,
        tags: ["a", "b"],
      },
    });
    parent.addEvent("cache miss", { key: "cart:1" });
    parent.setStatus({ code: SpanStatusCode.ERROR, message: "boom" });
    const child = tracer.startSpan(
      "SELECT cart",
      { kind: SpanKind.CLIENT, links: [{ context: parent.spanContext(), attributes: { why: "follows" } }] },
      trace.setSpan(context.active(), parent),
    );
    child.end();
    parent.end();
    await provider.forceFlush();
    const finished = memory.getFinishedSpans();
    await provider.shutdown();
    return finished;
  }

  for (const [label, make] of [
    ["protobuf", (url: string) => new ProtoTraceExporter({ url: `${url}/v1/traces` })],
    [
      "protobuf + gzip",
      (url: string) => new ProtoTraceExporter({ url: `${url}/v1/traces`, compression: "gzip" as never }),
    ],
    ["JSON", (url: string) => new JsonTraceExporter({ url: `${url}/v1/traces` })],
  ] as const) {
    it(`stores every span the ${label} exporter sends, field by field`, async () => {
      const service = `svc-${label.replace(/\W+/g, "-")}`;
      const spans = await exportWith(make(ingest.url), service);
      expect(spans).toHaveLength(2);
      const coll = mongo.client.db(mongo.db).collection("traces");
      const docs = await eventually(async () => {
        const found = await coll.find({ serviceName: service }).toArray();
        return found.length === 2 ? found : undefined;
      });
      for (const span of spans) {
        const ids = span.spanContext();
        const doc = docs.find((d) => d.spanId === ids.spanId)!;
        expect(doc).toBeDefined();
        const start = hrNanos(span.startTime);
        const end = hrNanos(span.endTime);
        expect(doc._id).toBe(ids.traceId + ids.spanId);
        expect(doc.traceId).toBe(ids.traceId);
        expect(doc.parentSpanId).toBe(span.parentSpanContext?.spanId ?? "");
        expect(doc.name).toBe(span.name);
        expect(doc.kind).toBe(["internal", "server", "client", "producer", "consumer"][span.kind]);
        expect(doc.startTimeUnixNano).toEqual(Long.fromBigInt(start));
        expect(doc.endTimeUnixNano).toEqual(Long.fromBigInt(end));
        expect(doc.startTime).toEqual(new Date(Number(start / 1_000_000n)));
        expect(doc.endTime).toEqual(new Date(Number(end / 1_000_000n)));
        expect(doc.durationNanos).toBe(Number(end - start));
        expect(doc.durationMs).toBe(Number(end - start) / 1e6);
        expect(doc.attributes).toEqual(span.attributes);
        expect(doc.status).toEqual({
          code: ["unset", "ok", "error"][span.status.code],
          message: span.status.message ?? "",
        });
        expect(doc.resource).toEqual({ ...span.resource.attributes });
        expect(doc.scope).toEqual({ name: "checkout-lib", version: "1.2.3", attributes: {} });
        expect(doc.events ?? []).toEqual(
          span.events.map((event) => ({
            name: event.name,
            time: new Date(Number(hrNanos(event.time) / 1_000_000n)),
            timeUnixNano: Long.fromBigInt(hrNanos(event.time)),
            attributes: event.attributes ?? {},
          })),
        );
        expect(doc.links ?? []).toEqual(
          span.links.map((link) => ({
            traceId: link.context.traceId,
            spanId: link.context.spanId,
            attributes: link.attributes ?? {},
          })),
        );
        expect(doc._stream_meta).toMatchObject({ source: { type: "otlp", signal: "traces" } });
      }
    });
  }

  it("creates the trace id and service + time indexes on its target when it starts", async () => {
    const coll = mongo.client.db(mongo.db).collection("traces");
    const keys = await eventually(async () => {
      const indexes = await coll
        .listIndexes()
        .toArray()
        .catch(() => []);
      return indexes.length >= 3 ? indexes.map((index) => index.key as object) : undefined;
    });
    expect(keys).toEqual(
      expect.arrayContaining([{ _id: 1 }, { traceId: 1 }, { serviceName: 1, startTime: -1 }]),
    );
  });
});
