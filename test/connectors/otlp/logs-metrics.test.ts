// Logs and metrics from the real OpenTelemetry SDK (protobuf and JSON exporters) through raw-ingest
// processors into MongoDB: one document per log record and per data point, checked field by field.
import { SeverityNumber } from "@opentelemetry/api-logs";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordExporter,
} from "@opentelemetry/sdk-logs";
import {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useMongoDatabase } from "../../support/mongo.ts";
import { testServices } from "../../support/services.ts";
import { eventually, startIngest, type Ingest } from "./ingest.ts";

const hrNanos = ([seconds, nanos]: [number, number]) => BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
const big = (value: unknown) => BigInt(String(value));

describe("OTLP logs and metrics from the OpenTelemetry SDK into MongoDB", () => {
  const mongo = useMongoDatabase("otlp_logs_metrics");
  let ingest: Ingest;
  const coll = (name: string) => mongo.client.db(mongo.db).collection(name);

  beforeAll(async () => {
    ingest = await startIngest({
      signals: ["logs", "metrics"],
      into: { uri: testServices().mongodbUri, db: mongo.db, coll: (signal) => signal },
    });
  });
  afterAll(() => ingest?.stop());

  for (const [label, make] of [
    ["protobuf", (url: string): LogRecordExporter => new ProtoLogExporter({ url: `${url}/v1/logs` })],
    ["JSON", (url: string): LogRecordExporter => new JsonLogExporter({ url: `${url}/v1/logs` })],
  ] as const) {
    it(`stores every log record the ${label} exporter sends`, async () => {
      const service = `logs-${label}`;
      const memory = new InMemoryLogRecordExporter();
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ "service.name": service }),
        processors: [
          new SimpleLogRecordProcessor({ exporter: make(ingest.url) }),
          new SimpleLogRecordProcessor({ exporter: memory }),
        ],
      });
      const logger = provider.getLogger("app-logger", "0.1.0");
      logger.emit({
        severityNumber: SeverityNumber.ERROR,
        severityText: "ERROR",
        body: { message: "payment failed", code: 402, nested: { ok: false } },
        attributes: { "user.id": "u-1", attempt: 3 },
        timestamp: new Date("2026-01-02T03:04:05.678Z"),
      });
      logger.emit({ severityNumber: SeverityNumber.INFO, body: "plain text" });
      await provider.forceFlush();
      const emitted = memory.getFinishedLogRecords();
      await provider.shutdown();
      const docs = await eventually(async () => {
        const found = await coll("logs")
          .find({ serviceName: service })
          .sort({ severityNumber: -1 })
          .toArray();
        return found.length === 2 ? found : undefined;
      });
      const byBody = (body: unknown) => emitted.find((r) => JSON.stringify(r.body) === JSON.stringify(body))!;
      for (const doc of docs) {
        const record = byBody(doc.body);
        expect(record).toBeDefined();
        expect(big(doc.timeUnixNano)).toBe(hrNanos(record.hrTime));
        expect(doc.time).toEqual(new Date(Number(hrNanos(record.hrTime) / 1_000_000n)));
        expect(big(doc.observedTimeUnixNano)).toBe(hrNanos(record.hrTimeObserved));
        expect(doc.severityNumber).toBe(record.severityNumber);
        expect(doc.severityText).toBe(record.severityText ?? "");
        expect(doc.attributes).toEqual(record.attributes);
        expect(doc.resource).toEqual({ ...record.resource.attributes });
        expect(doc.scope).toEqual({ name: "app-logger", version: "0.1.0", attributes: {} });
        expect(typeof doc._id).toBe("string");
      }
      expect(docs[0]!.time).toEqual(new Date("2026-01-02T03:04:05.678Z"));
    });
  }

  for (const [label, make] of [
    ["protobuf", (url: string): PushMetricExporter => new ProtoMetricExporter({ url: `${url}/v1/metrics` })],
    ["JSON", (url: string): PushMetricExporter => new JsonMetricExporter({ url: `${url}/v1/metrics` })],
  ] as const) {
    it(`stores one document per data point the ${label} exporter sends`, async () => {
      const service = `metrics-${label}`;
      const reader = new PeriodicExportingMetricReader({
        exporter: make(ingest.url),
        exportIntervalMillis: 600_000,
      });
      const provider = new MeterProvider({
        resource: resourceFromAttributes({ "service.name": service }),
        readers: [reader],
        views: [
          { instrumentName: "payload.size", aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } },
        ],
      });
      const meter = provider.getMeter("app-meter", "2.0.0");
      const requests = meter.createCounter("http.requests", { unit: "1", description: "requests served" });
      requests.add(3, { route: "/a" });
      requests.add(4, { route: "/b" });
      const latency = meter.createHistogram("http.latency", { unit: "ms" });
      for (const ms of [5, 12, 80]) latency.record(ms, { route: "/a" });
      meter.createGauge("queue.depth").record(17, { queue: "q1" });
      const sizes = meter.createHistogram("payload.size");
      for (const bytes of [100, 200, 4000]) sizes.record(bytes);
      // Shutting down exports once (a forceFlush before it would export the cumulative points again).
      await provider.shutdown();
      const docs = await eventually(async () => {
        const found = await coll("metrics").find({ serviceName: service }).toArray();
        return found.length === 5 ? found : undefined;
      });
      const point = (name: string, route?: string) =>
        docs.find((d) => d.name === name && (route === undefined || d.attributes.route === route))!;
      expect(point("http.requests", "/a")).toMatchObject({
        type: "sum",
        unit: "1",
        description: "requests served",
        isMonotonic: true,
        aggregationTemporality: "cumulative",
        value: 3,
        attributes: { route: "/a" },
        scope: { name: "app-meter", version: "2.0.0", attributes: {} },
        resource: { "service.name": service },
      });
      expect(point("http.requests", "/b").value).toBe(4);
      expect(point("http.latency")).toMatchObject({
        type: "histogram",
        count: 3,
        sum: 97,
        min: 5,
        max: 80,
        unit: "ms",
      });
      const histogram = point("http.latency");
      expect(histogram.bucketCounts.reduce((a: number, b: number) => a + b, 0)).toBe(3);
      expect(histogram.explicitBounds.length).toBe(histogram.bucketCounts.length - 1);
      expect(point("queue.depth")).toMatchObject({ type: "gauge", value: 17, attributes: { queue: "q1" } });
      const exponential = point("payload.size");
      expect(exponential).toMatchObject({
        type: "exponentialHistogram",
        count: 3,
        sum: 4300,
        min: 100,
        max: 4000,
      });
      expect(exponential.positive.bucketCounts.reduce((a: number, b: number) => a + b, 0)).toBe(3);
      for (const doc of docs) {
        expect(doc.time).toBeInstanceOf(Date);
        expect(doc.time.getTime()).toBe(Number(big(doc.timeUnixNano) / 1_000_000n));
        expect(doc.startTime.getTime()).toBe(Number(big(doc.startTimeUnixNano) / 1_000_000n));
      }
    });
  }
});
