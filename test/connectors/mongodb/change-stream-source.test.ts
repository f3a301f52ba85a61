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

  it("waits out idlePollMs between polls that find nothing, however fast the server answers", async () => {
    const source = new ChangeStreamSource(
      mongo.client,
      sourcePlan({ db, coll: "quiet", config: { maxAwaitTimeMS: 10 } }),
      { idlePollMs: 100 },
    );
    await source.start();
    const started = performance.now();
    for (let i = 0; i < 4; i++) expect(await source.next()).toEqual({ records: [], idle: true });
    const elapsed = performance.now() - started;
    await source.close();
    // A lower bound only (sleeping guarantees it): four empty polls cannot take less than four pauses.
    expect(elapsed).toBeGreaterThanOrEqual(4 * 100 - 5);
  });

  it("hands over events that arrive without waiting for idlePollMs", async () => {
    const source = new ChangeStreamSource(mongo.client, sourcePlan({ db, coll: "busy" }), {
      idlePollMs: 60_000,
    });
    await source.start();
    await mongo.client
      .db(db)
      .collection("busy")
      .insertOne({ _id: 1 as never });
    const records = await drain(source, 1);
    await source.close();
    expect(records.map((r) => r.doc?.documentKey)).toEqual([{ _id: 1 }]);
  });

  describe("initialSync", () => {
    type Row = { _id: number; [key: string]: unknown };

    /**
     * The collection as a consumer rebuilds it from the events: copied inserts, then the stream. Documents
     * carry their `_id` again in `k`: the stand-in's update events have neither `documentKey` nor `_id` in
     * the post-image (docs/testing.md).
     */
    function replay(records: readonly SourceRecord[]): Map<unknown, Doc> {
      const state = new Map<unknown, Doc>();
      for (const { doc } of records) {
        const fullDocument = doc?.fullDocument as Doc | null;
        if (doc?.operationType === "delete") state.delete((doc.documentKey as Doc)._id);
        else state.set(fullDocument?.k, { ...fullDocument, _id: fullDocument?.k });
      }
      return state;
    }

    it("copies the collection first, then streams from before the copy: nothing lost at the seam", async () => {
      const coll = mongo.client.db(db).collection<Row>("sync");
      await coll.insertMany([1, 2, 3, 4, 5].map((i) => ({ _id: i, k: i, v: i })));
      const source = new ChangeStreamSource(
        mongo.client,
        sourcePlan({
          db,
          coll: "sync",
          config: { fullDocument: "updateLookup" },
          initialSync: { enable: true },
        }),
        { maxBatchSize: 2 },
      );
      await source.start();
      const first = (await source.next())?.records ?? [];
      expect(first.map((r) => r.doc?.documentKey)).toEqual([{ _id: 1 }, { _id: 2 }]);
      expect(first[0].doc).toMatchObject({ operationType: "insert", ns: { db, coll: "sync" } });
      expect(first[0].meta).toEqual({ initialSync: { phase: "snapshot" } });
      expect(source.positions().initialSync).toEqual({ phase: "snapshot", db, coll: "sync", lastId: 2 });

      // Changes while the copy runs: to copied and not yet copied documents.
      await coll.updateOne({ _id: 1 }, { $set: { v: 10 } });
      await coll.updateOne({ _id: 5 }, { $set: { v: 50 } });
      await coll.deleteOne({ _id: 2 });
      await coll.insertOne({ _id: 6, k: 6, v: 6 });
      const rest = await drain(source, 3 + 4);
      expect(source.positions().initialSync).toEqual({ phase: "done" });
      await source.close();

      expect(rest.slice(0, 3).map((r) => r.doc?.documentKey)).toEqual([{ _id: 3 }, { _id: 4 }, { _id: 5 }]);
      expect(rest.slice(3).map((r) => r.doc?.operationType)).toEqual([
        "update",
        "update",
        "delete",
        "insert",
      ]);
      const expected = new Map((await coll.find().toArray()).map((d) => [d._id as unknown, d as Doc]));
      expect(replay([...first, ...rest])).toEqual(expected);
    });

    it("resumes a copy interrupted by a crash from its checkpoint, then streams from its token", async () => {
      const coll = mongo.client.db(db).collection<Row>("resumed");
      const watch = coll.watch();
      await watch.tryNext();
      await coll.insertMany([1, 2, 3, 4].map((i) => ({ _id: i, k: i })));
      let token: unknown;
      for (let i = 0; i < 4; i++) token = (await watch.next())._id;
      await watch.close();
      // The checkpoint of a run that copied 1 and 2 and was killed: its token predates the copy.
      const positions = {
        resumeToken: token,
        initialSync: { phase: "snapshot", db, coll: "resumed", lastId: 2 },
      };
      await coll.updateOne({ _id: 1 }, { $set: { late: true } });
      await coll.insertOne({ _id: 5, k: 5 });

      const source = new ChangeStreamSource(
        mongo.client,
        sourcePlan({
          db,
          coll: "resumed",
          config: { fullDocument: "updateLookup" },
          initialSync: { enable: true },
        }),
        { resumeAfterToken: token as Doc, initialSync: positions.initialSync as never },
      );
      await source.start();
      const records = await drain(source, 3 + 2);
      await source.close();
      expect(records.map((r) => [r.doc?.operationType, (r.doc?.fullDocument as Doc).k])).toEqual([
        ["insert", 3],
        ["insert", 4],
        ["insert", 5],
        ["update", 1],
        ["insert", 5],
      ]);
    });

    it("never copies again once a checkpoint says the copy is done", async () => {
      const coll = mongo.client.db(db).collection<Row>("once");
      await coll.insertOne({ _id: 1 });
      const source = new ChangeStreamSource(
        mongo.client,
        sourcePlan({ db, coll: "once", initialSync: { enable: true } }),
        { initialSync: { phase: "done" } },
      );
      await source.start();
      await coll.insertOne({ _id: 2 });
      const records = await drain(source, 1);
      await source.close();
      expect(records.map((r) => r.doc?.documentKey)).toEqual([{ _id: 2 }]);
      expect(source.positions().initialSync).toEqual({ phase: "done" });
    });

    it("runs the change-stream pipeline over the copy and honours fullDocumentOnly", async () => {
      const coll = mongo.client.db(db).collection<Row>("filtered");
      await coll.insertMany([
        { _id: 1, status: "new" },
        { _id: 2, status: "done" },
      ]);
      const source = new ChangeStreamSource(
        mongo.client,
        sourcePlan({
          db,
          coll: "filtered",
          config: {
            fullDocument: "updateLookup",
            fullDocumentOnly: true,
            pipeline: [{ $match: { "fullDocument.status": "new" } }],
          },
          initialSync: { enable: true },
        }),
      );
      await source.start();
      await coll.insertOne({ _id: 3, status: "new" });
      const records = await drain(source, 2);
      await source.close();
      expect(records.map((r) => r.doc)).toEqual([
        { _id: 1, status: "new" },
        { _id: 3, status: "new" },
      ]);
    });
  });
});
