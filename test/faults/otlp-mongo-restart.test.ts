// Fault injection for OTLP ingest: a private MongoDB stand-in is stopped while exporters keep sending.
// Requests are still acknowledged (the spool holds them; a full spool would answer 503 + Retry-After and
// the sender retries); once MongoDB is back, every acknowledged span is in it exactly once.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOtlpConfig } from "../../src/connectors/otlp/config.ts";
import { acquireReceiver, type ReceiverLease } from "../../src/connectors/otlp/receivers.ts";
import { startPrivateMongo, type PrivateMongo } from "../../scripts/services/private.ts";
import { uniqueName } from "../support/services.ts";
import { sleep, superviseProcessor } from "./helpers.ts";

const root = protobuf.loadSync(join(import.meta.dirname, "../../src/connectors/otlp/proto/otlp.proto"));
const TraceRequest = root.lookupType("opentelemetry.proto.ExportTraceServiceRequest");
const SPANS_PER_REQUEST = 50;

/** Request `n`: spans with ids derived from n, so every acknowledged id is known. */
function request(n: number): { body: Uint8Array; ids: string[] } {
  const traceId = n.toString(16).padStart(32, "0");
  const spans = Array.from({ length: SPANS_PER_REQUEST }, (_, i) => ({
    traceId: Buffer.from(traceId, "hex"),
    spanId: Buffer.from((i + 1).toString(16).padStart(16, "0"), "hex"),
    name: `op-${n}-${i}`,
    startTimeUnixNano: 1_700_000_000_000_000_000n.toString(),
    endTimeUnixNano: 1_700_000_000_100_000_000n.toString(),
  }));
  const body = TraceRequest.encode(
    TraceRequest.fromObject({ resourceSpans: [{ scopeSpans: [{ scope: { name: "fault" }, spans }] }] }),
  ).finish();
  return { body, ids: spans.map((s) => traceId + s.spanId.toString("hex")) };
}

describe("OTLP ingest while MongoDB restarts", () => {
  let mongo: PrivateMongo;
  let client: MongoClient;
  let dir: string;

  beforeAll(async () => {
    mongo = await startPrivateMongo({ persistent: true });
    client = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 30_000 });
    dir = await mkdtemp(join(tmpdir(), "eddy-otlp-fault-"));
  }, 300_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await mongo?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it("acknowledged spans all reach MongoDB exactly once after it comes back", async () => {
    const name = uniqueName("otel_fault");
    const rawConfig = { port: 0, spool: { dir } };
    const lease: ReceiverLease = await acquireReceiver(name, readOtlpConfig(name, rawConfig).config, {
      lingerMs: 0,
    });
    const { supervisor } = await superviseProcessor(
      {
        name: "otlp_fault",
        pipeline: [
          { $source: { connectionName: name, signal: "traces" } },
          { $merge: { into: { connectionName: "db", db: "otlp_faults", coll: "traces" } } },
        ],
      },
      [
        { name, type: "OTLP", config: rawConfig },
        { name: "db", type: "Cluster", config: { uri: mongo.uri } },
      ],
    );
    const url = `${lease.receiver.url}/v1/traces`;
    const acknowledged = new Set<string>();
    const statuses: number[] = [];
    let sending = true;
    // An exporter: sends request after request, retrying 429/503 after Retry-After.
    const sender = (async () => {
      for (let n = 1; sending; n++) {
        const { body, ids } = request(n);
        for (;;) {
          const response = await fetch(url, {
            method: "POST",
            body,
            headers: { "content-type": "application/x-protobuf" },
          });
          await response.arrayBuffer();
          statuses.push(response.status);
          if (response.status === 200) break;
          expect([429, 503]).toContain(response.status);
          await sleep(Number(response.headers.get("retry-after")) * 1000);
        }
        for (const id of ids) acknowledged.add(id);
        await sleep(20);
      }
    })();
    const traces = () => client.db("otlp_faults").collection("traces");
    try {
      while ((await traces().countDocuments()) === 0) await sleep(100);
      await mongo.stop();
      const ackedBeforeOutage = acknowledged.size;
      await sleep(2_000);
      // Ingest went on while MongoDB was down.
      expect(acknowledged.size).toBeGreaterThan(ackedBeforeOutage);
      await mongo.start();
      await sleep(1_000);
    } finally {
      sending = false;
      await sender;
    }
    const expected = acknowledged.size;
    for (let i = 0; i < 600 && (await traces().countDocuments()) < expected; i++) await sleep(200);
    const ids = (
      await traces()
        .find({}, { projection: { _id: 1 } })
        .toArray()
    ).map((d) => d._id as unknown as string);
    expect(ids.length).toBe(expected);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(acknowledged.has(id)).toBe(true);
    await supervisor.stop();
    lease.release();
    await lease.receiver.close();
  }, 180_000);
});
