import { describe, expect, it } from "vitest";
import { ConnectorClients } from "../../../src/connectors/clients.ts";
import { createSink, createSource } from "../../../src/connectors/factory.ts";
import { TimeseriesEmitSink } from "../../../src/connectors/mongodb/timeseries-sink.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import { ProcessorRuntime } from "../../../src/runtime/index.ts";
import { useMongoDatabase } from "../../support/mongo.ts";
import { hasRealMongo, testServices } from "../../support/services.ts";
import { MemoryDlq } from "../../runtime/helpers.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

describe("TimeseriesEmitSink ($emit to a time-series collection)", () => {
  const mongo = useMongoDatabase("tsemit");
  const { db } = mongo;

  async function run(emit: Doc, documents: Doc[]) {
    const catalog = new MapConnectionCatalog([
      { name: "c", type: "Cluster", config: { uri: testServices().mongodbUri } },
    ]);
    const plan = planProcessor(
      { name: "ts", pipeline: [{ $source: { documents } }, { $emit: { connectionName: "c", ...emit } }] },
      { connectors: CONNECTORS, connections: catalog },
    );
    const clients = new ConnectorClients(catalog);
    const sink = await createSink(plan, catalog, process.stdout, clients);
    const dlq = new MemoryDlq();
    const stats = await new ProcessorRuntime(plan, {
      source: await createSource(plan, catalog, process.stdin, clients),
      sink,
      dlq,
    }).run();
    await clients.close();
    return { sink, dlq: dlq.records, stats };
  }

  it("creates the collection, inserts documents in order and dead-letters those whose timeField is not a date", async () => {
    const at = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s));
    const { sink, dlq, stats } = await run(
      { db, coll: "solar", timeseries: { timeField: "ts", metaField: "device", granularity: "seconds" } },
      [
        { n: 1, ts: at(1), device: "a", watts: 10 },
        { n: 2, ts: "2025-01-01T00:00:02Z", device: "a" },
        { n: 3, device: "b" },
        { n: 4, ts: at(4), device: "b", watts: 7 },
      ],
    );
    expect(sink).toBeInstanceOf(TimeseriesEmitSink);
    const stored = await mongo.client
      .db(db)
      .collection("solar")
      .find({}, { sort: { n: 1 } })
      .toArray();
    expect(stored.map((d) => [d.n, d.ts])).toEqual([
      [1, at(1)],
      [4, at(4)],
    ]);
    expect(dlq.map((r) => [(r.doc as Doc).n, (r.errInfo as Doc).reason, r.operatorName])).toEqual([
      [
        2,
        "Failed to process input document in TimeseriesEmitOperator with error: 'ts' must be present and contain a valid BSON UTC datetime value",
        "TimeseriesEmitOperator",
      ],
      [
        3,
        "Failed to process input document in TimeseriesEmitOperator with error: 'ts' must be present and contain a valid BSON UTC datetime value",
        "TimeseriesEmitOperator",
      ],
    ]);
    expect(stats.outputMessageCount).toBe(2);
    expect(stats.dlqMessageCount).toBe(2);

    const [info] = await mongo.client
      .db(db)
      .listCollections({ name: "solar" }, { nameOnly: false })
      .toArray();
    if (hasRealMongo()) {
      expect(info.type).toBe("timeseries");
      expect((info as { options?: { timeseries?: unknown } }).options?.timeseries).toMatchObject({
        timeField: "ts",
        metaField: "device",
        granularity: "seconds",
      });
    } else {
      // The stand-in reports MongoDB 4.4, which has no time-series collections: a plain one is created.
      expect(info.type).toBe("collection");
    }
  });

  it("routes by dynamic db/coll and dead-letters a document whose namespace is invalid", async () => {
    const at = new Date(Date.UTC(2025, 0, 1));
    const { dlq } = await run(
      { db, coll: { $concat: ["metrics_", "$kind"] }, timeseries: { timeField: "ts" } },
      [
        { kind: "cpu", ts: at, v: 1 },
        { kind: "mem", ts: at, v: 2 },
        { kind: "bad$", ts: at, v: 3 },
        { kind: "cpu", ts: at, v: 4 },
      ],
    );
    const values = async (coll: string) =>
      (
        await mongo.client
          .db(db)
          .collection(coll)
          .find({}, { sort: { v: 1 } })
          .toArray()
      ).map((d) => d.v);
    expect(await values("metrics_cpu")).toEqual([1, 4]);
    expect(await values("metrics_mem")).toEqual([2]);
    expect(dlq).toHaveLength(1);
    expect((dlq[0].errInfo as Doc).reason).toContain(
      "Failed to evaluate target namespace in TimeseriesEmitOperator with error: invalid collection name 'metrics_bad$'",
    );
  });

  it("writes into an existing collection without recreating it", async () => {
    await mongo.client.db(db).createCollection("existing");
    await mongo.client
      .db(db)
      .collection("existing")
      .insertOne({ ts: new Date(0), old: true });
    await run({ db, coll: "existing", timeseries: { timeField: "ts" } }, [
      { ts: new Date(1000), old: false },
    ]);
    expect(await mongo.client.db(db).collection("existing").countDocuments()).toBe(2);
  });
});
