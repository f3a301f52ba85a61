import { describe, expect, it } from "vitest";
import {
  ChangeStreamSource,
  type ChangeStreamSourcePlan,
} from "../../../src/connectors/mongodb/change-stream-source.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import type { SourceRecord } from "../../../src/runtime/source.ts";
import { useMongoDatabase } from "../../support/mongo.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

const catalog = new MapConnectionCatalog([{ name: "db", type: "Cluster", config: {} }]);

function sourcePlan(source: Doc): ChangeStreamSourcePlan {
  const plan = planProcessor(
    { pipeline: [{ $source: { connectionName: "db", ...source } }] },
    { connectors: CONNECTORS, connections: catalog, ephemeral: true },
  );
  if (plan.source.type !== "Cluster") throw new Error("expected a change stream source");
  return plan.source as ChangeStreamSourcePlan;
}

async function drain(source: ChangeStreamSource, count: number): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for (let i = 0; i < 50 && records.length < count; i++) {
    const batch = await source.next();
    records.push(...(batch?.records ?? []));
  }
  return records;
}

describe("ChangeStreamSource", () => {
  const mongo = useMongoDatabase("cs");
  const { db } = mongo;

  it("hands over insert, update and delete events of a collection with the event time", async () => {
    const coll = mongo.client.db(db).collection<{ _id: number; [key: string]: unknown }>("orders");
    const source = new ChangeStreamSource(
      mongo.client,
      sourcePlan({ db, coll: "orders", config: { fullDocument: "updateLookup" } }),
    );
    await source.start();
    await coll.insertOne({ _id: 1, qty: 1 });
    await coll.updateOne({ _id: 1 }, { $set: { qty: 2 } });
    await coll.deleteOne({ _id: 1 });
    const records = await drain(source, 3);
    await source.close();
    expect(records.map((r) => r.doc?.operationType)).toEqual(["insert", "update", "delete"]);
    expect(records[0].doc).toMatchObject({
      ns: { db, coll: "orders" },
      documentKey: { _id: 1 },
      fullDocument: { _id: 1, qty: 1 },
    });
    // The stand-in drops `_id` from looked-up post-images (docs/testing.md); real MongoDB keeps it.
    expect(records[1].doc?.fullDocument).toMatchObject({ qty: 2 });
    expect(records[0].timestamp).toBeGreaterThan(Date.now() - 60_000);
    expect(source.positions().resumeToken).toEqual(records[2].doc?._id);
  });

  it("emits only fullDocument with fullDocumentOnly and applies the server-side pipeline", async () => {
    const coll = mongo.client.db(db).collection<{ _id: number; [key: string]: unknown }>("only");
    const source = new ChangeStreamSource(
      mongo.client,
      sourcePlan({
        db,
        coll: "only",
        config: {
          fullDocument: "updateLookup",
          fullDocumentOnly: true,
          pipeline: [{ $match: { operationType: "insert" } }],
        },
      }),
    );
    await source.start();
    await coll.insertOne({ _id: 1, a: 1 });
    await coll.updateOne({ _id: 1 }, { $set: { a: 2 } });
    await coll.insertOne({ _id: 2, a: 3 });
    const records = await drain(source, 2);
    await source.close();
    expect(records.map((r) => r.doc)).toEqual([
      { _id: 1, a: 1 },
      { _id: 2, a: 3 },
    ]);
  });

  it("resumes after the checkpointed token without losing or repeating events", async () => {
    const coll = mongo.client.db(db).collection<{ _id: number; [key: string]: unknown }>("resume");
    const plan = sourcePlan({ db, coll: "resume" });
    const first = new ChangeStreamSource(mongo.client, plan);
    await first.start();
    await coll.insertMany([{ _id: 1 }, { _id: 2 }]);
    const before = await drain(first, 2);
    const token = first.positions().resumeToken;
    await first.close();
    await coll.insertMany([{ _id: 3 }, { _id: 4 }]);

    const second = new ChangeStreamSource(mongo.client, plan, { resumeAfterToken: token as Doc });
    await second.start();
    const after = await drain(second, 2);
    await second.close();
    expect(before.map((r) => r.doc?.documentKey)).toEqual([{ _id: 1 }, { _id: 2 }]);
    expect(after.map((r) => r.doc?.documentKey)).toEqual([{ _id: 3 }, { _id: 4 }]);
  });

  it("reports idle when nothing happens", async () => {
    const source = new ChangeStreamSource(
      mongo.client,
      sourcePlan({ db, coll: "quiet", config: { maxAwaitTimeMS: 100 } }),
    );
    await source.start();
    const batch = await source.next();
    await source.close();
    expect(batch).toEqual({ records: [], idle: true });
  });
});
