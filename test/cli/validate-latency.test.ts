// `sp validate latency` against the test MongoDB: probe documents written into a source collection are
// copied by two stand-ins for the trigger-fed and the stream-fed pipelines (change-stream consumers in this
// test), and the command reports how long each took to reach both copies.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChangeStream, Collection, Document } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../support/io.ts";
import { main } from "../../src/cli/main.ts";
import { useMongoDatabase } from "../support/mongo.ts";
import { testServices } from "../support/services.ts";

/** Copies every inserted document of `from` into `targets` until stopped: a pipeline's stand-in. */
function copier(from: Collection, targets: Collection[]): { stop(): Promise<void> } {
  const stream: ChangeStream = from.watch([{ $match: { operationType: "insert" } }]);
  let running = true;
  const loop = (async () => {
    while (running) {
      const event = (await stream.tryNext().catch(() => null)) as Document | null;
      if (event === null) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      for (const target of targets) await target.insertOne(event.fullDocument);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await stream.close();
    },
  };
}

interface LatencyJson {
  probes: number;
  left: {
    side: string;
    arrived: number;
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
  };
  right: LatencyJson["left"];
}

describe("sp validate latency", () => {
  const mongo = useMongoDatabase("latency");
  const dir = mkdtempSync(join(tmpdir(), "eddy-latency-"));
  const connections = join(dir, "connections.json");
  writeFileSync(
    connections,
    JSON.stringify({
      connections: [{ name: "atlas", type: "Cluster", config: { uri: testServices().mongodbUri } }],
    }),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const args = (source: string, extra: string[]) => [
    "validate",
    "latency",
    "--connections",
    connections,
    "--source",
    `atlas.${mongo.db}.${source}`,
    "--left",
    `atlas.${mongo.db}.${source}_trigger`,
    "--right",
    `atlas.${mongo.db}.${source}_stream`,
    "--rate",
    "20",
    "--duration",
    "500ms",
    "--probe",
    '{"status":"new"}',
    "--json",
    ...extra,
  ];

  it("reports p50/p95/p99 per copy once every probe reached both, and removes the probes", async () => {
    const db = mongo.client.db(mongo.db);
    const running = copier(db.collection("orders"), [
      db.collection("orders_trigger"),
      db.collection("orders_stream"),
    ]);
    const out = captureIo();
    try {
      expect(await main(args("orders", []), out.io), out.err()).toBe(0);
    } finally {
      await running.stop();
    }
    const summary = JSON.parse(out.out()) as LatencyJson;
    expect(summary.probes).toBe(10);
    for (const side of [summary.left, summary.right]) {
      expect(side.arrived).toBe(10);
      const { p50Ms, p95Ms, p99Ms, maxMs } = side;
      expect([p50Ms, p95Ms, p99Ms, maxMs].every((v) => typeof v === "number" && v >= 0)).toBe(true);
      expect(p50Ms as number).toBeLessThanOrEqual(p95Ms as number);
      expect(p95Ms as number).toBeLessThanOrEqual(p99Ms as number);
      expect(p99Ms as number).toBeLessThanOrEqual(maxMs as number);
    }
    expect(summary.left.side).toBe(`atlas.${mongo.db}.orders_trigger`);
    // The probes carried the --probe fields, and were deleted from the source afterwards.
    expect(await db.collection("orders_stream").findOne({ eddyProbe: true })).toMatchObject({
      status: "new",
    });
    expect(await db.collection("orders").countDocuments()).toBe(0);
  });

  it("exits 1 and reports no percentiles for a copy the probes never reach", async () => {
    const db = mongo.client.db(mongo.db);
    const running = copier(db.collection("lost"), [db.collection("lost_trigger")]);
    const out = captureIo();
    try {
      expect(await main(args("lost", ["--grace", "300ms"]), out.io), out.err()).toBe(1);
    } finally {
      await running.stop();
    }
    const summary = JSON.parse(out.out()) as LatencyJson;
    expect(summary.probes).toBe(10);
    expect(summary.right).toMatchObject({ arrived: 0, p50Ms: null, p95Ms: null, p99Ms: null, maxMs: null });
  });

  it("rejects a rate that is not a positive number", async () => {
    const out = captureIo();
    expect(await main(args("orders", ["--rate", "fast"]), out.io)).toBe(2);
    expect(out.err()).toContain("--rate takes a positive number, got 'fast'");
  });
});
