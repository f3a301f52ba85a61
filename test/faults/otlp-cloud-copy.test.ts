// The local → cloud recipe of docs/otlp.md with two MongoDB endpoints: the raw-ingest processor writes to
// the "local" one (the shared stand-in), the example's copy processor (examples/otlp/processors/
// cloud-copy-traces.json) follows the local change stream into the "cloud" one (a private stand-in). The
// cloud goes away: ingest is not slowed (every request still 200, local keeps filling); the cloud comes
// back: the copy catches up from its checkpoint, every span exactly once.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateMongo, type PrivateMongo } from "../../scripts/services/private.ts";
import type { Doc } from "../../src/mql/index.ts";
import { eventually, startIngest, type Ingest } from "../connectors/otlp/ingest.ts";
import { useMongoDatabase } from "../support/mongo.ts";
import { testServices } from "../support/services.ts";
import { superviseProcessor } from "./helpers.ts";

const repo = join(import.meta.dirname, "../..");
const root = protobuf.loadSync(join(repo, "src/connectors/otlp/proto/otlp.proto"));
const TraceRequest = root.lookupType("opentelemetry.proto.ExportTraceServiceRequest");

/** Request `n` of 20 spans with ids derived from n. */
function request(n: number): Uint8Array {
  const traceId = Buffer.from(n.toString(16).padStart(32, "0"), "hex");
  const spans = Array.from({ length: 20 }, (_, i) => ({
    traceId,
    spanId: Buffer.from((i + 1).toString(16).padStart(16, "0"), "hex"),
    name: `op-${n}-${i}`,
    startTimeUnixNano: "1700000000000000000",
    endTimeUnixNano: "1700000000100000000",
  }));
  return TraceRequest.encode(
    TraceRequest.fromObject({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "copy" } }] },
          scopeSpans: [{ scope: { name: "copy" }, spans }],
        },
      ],
    }),
  ).finish();
}

/** The example copy processor, its `telemetry` database renamed to the test's. */
function copyDefinition(db: string): { name: string; pipeline: Doc[] } {
  const text = readFileSync(join(repo, "examples/otlp/processors/cloud-copy-traces.json"), "utf8");
  return JSON.parse(text.replaceAll('"telemetry"', JSON.stringify(db))) as { name: string; pipeline: Doc[] };
}

describe("OTLP local → cloud copy with two MongoDB endpoints", () => {
  const local = useMongoDatabase("otlp_copy");
  let cloud: PrivateMongo;
  let cloudClient: MongoClient;
  let ingest: Ingest | undefined;

  beforeAll(async () => {
    cloud = await startPrivateMongo({ persistent: true });
    cloudClient = new MongoClient(cloud.uri, { serverSelectionTimeoutMS: 30_000 });
  }, 300_000);

  afterAll(async () => {
    await ingest?.stop();
    await cloudClient?.close().catch(() => undefined);
    await cloud?.dispose();
  }, 60_000);

  it("ingest never waits for the cloud, and the copy catches up exactly once", async () => {
    const { supervisor: copy } = await superviseProcessor(copyDefinition(local.db), [
      { name: "local", type: "Cluster", config: { uri: testServices().mongodbUri } },
      { name: "cloud", type: "Cluster", config: { uri: cloud.uri } },
    ]);
    ingest = await startIngest({
      signals: ["traces"],
      into: { uri: testServices().mongodbUri, db: local.db, coll: () => "traces" },
    });
    const post = async (n: number) => {
      const response = await fetch(`${ingest!.url}/v1/traces`, {
        method: "POST",
        body: request(n),
        headers: { "content-type": "application/x-protobuf" },
      });
      await response.arrayBuffer();
      return response.status;
    };
    const localTraces = local.client.db(local.db).collection("traces");
    const cloudTraces = cloudClient.db(local.db).collection("traces");
    const countIs = (coll: typeof localTraces, expected: number) =>
      eventually(async () => ((await coll.countDocuments()) === expected ? true : undefined), 60_000);
    try {
      for (let n = 1; n <= 5; n++) expect(await post(n)).toBe(200);
      await countIs(localTraces, 100);
      await countIs(cloudTraces, 100);

      await cloud.stop();
      for (let n = 6; n <= 10; n++) expect(await post(n)).toBe(200);
      await countIs(localTraces, 200);
      expect(copy.status().state).not.toBe("failed");

      await cloud.start();
      await countIs(cloudTraces, 200);
      const localIds = (await localTraces.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
      const cloudDocs = await cloudTraces.find({}).toArray();
      expect(new Set(cloudDocs.map((d) => d._id)).size).toBe(200);
      expect(cloudDocs.map((d) => d._id).sort()).toEqual(localIds.sort());
      // The copy is the local document as ingested, less its stream metadata (the recipe's $project).
      const { _stream_meta, ...ingested } = (await localTraces.findOne({ name: "op-7-3" }))!;
      expect(_stream_meta).toMatchObject({ source: { type: "otlp", signal: "traces" } });
      expect(cloudDocs.find((d) => d.name === "op-7-3")).toEqual(ingested);
    } finally {
      await copy.stop();
    }
  }, 180_000);
});
