import { MongoClient, type CommandStartedEvent } from "mongodb";
import { describe, expect, it } from "vitest";
import {
  ChangeStreamSource,
  type ChangeStreamSourcePlan,
} from "../../../src/connectors/mongodb/change-stream-source.ts";
import { SnapshotReader, type InitialSyncPosition } from "../../../src/connectors/mongodb/initial-sync.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import type { SourceRecord } from "../../../src/runtime/source.ts";
import { useMongoDatabase } from "../../support/mongo.ts";
import { testServices } from "../../support/services.ts";
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

    describe("parallelism", () => {
      const ALL = [1, 2, 3, 4, 5, 11, 12, 13, 14, 15, 21, 22, 23, 24, 25];

      /** Three collections of five documents; `k` is collection number × 10 + `_id`. */
      async function fill(prefix: string): Promise<string[]> {
        const colls = ["a", "b", "c"].map((name) => `${prefix}_${name}`);
        for (const [c, coll] of colls.entries())
          await mongo.client
            .db(db)
            .collection<Row>(coll)
            .insertMany([1, 2, 3, 4, 5].map((i) => ({ _id: i, k: c * 10 + i })));
        return colls;
      }

      /**
       * A client that watches the wire for reads of `colls`: which collections a copy has begun (an
       * `aggregate` sent) and how many of those reads were in flight at once. Its pool is warmed to four
       * connections first, so a read never waits for a new connection while another one's reply arrives.
       */
      async function watchingClient(colls: readonly string[]) {
        const client = new MongoClient(testServices().mongodbUri, { monitorCommands: true, minPoolSize: 4 });
        await client.connect();
        await Promise.all([1, 2, 3, 4].map(() => client.db(db).command({ ping: 1 })));
        const begun = new Set<string>();
        const inFlight = new Set<number>();
        const wire = { begun, mostInFlight: 0 };
        client.on("commandStarted", (event: CommandStartedEvent) => {
          const coll = event.command[event.commandName] as unknown;
          const read = event.commandName === "aggregate" || event.commandName === "getMore";
          if (!read || (event.commandName === "aggregate" && !colls.includes(coll as string))) return;
          if (event.commandName === "aggregate") begun.add(coll as string);
          inFlight.add(event.requestId);
          wire.mostInFlight = Math.max(wire.mostInFlight, inFlight.size);
        });
        const settled = (event: { requestId: number }) => inFlight.delete(event.requestId);
        client.on("commandSucceeded", settled);
        client.on("commandFailed", settled);
        return { client, wire };
      }

      /** The collections a position says are copied completely. */
      function copiedColls(colls: readonly string[], position: InitialSyncPosition | undefined): string[] {
        if (position?.phase === "done") return [...colls];
        const first = colls.indexOf(position?.coll ?? "");
        const later = (position?.started ?? []).filter((copy) => copy.done === true).map((copy) => copy.coll);
        return [...colls.slice(0, Math.max(0, first)), ...later];
      }

      /**
       * Copies `colls` `parallelism` at a time: the copied `k`s batch by batch, the most collections begun
       * and not yet copied completely after any batch, and the most reads in flight at once.
       */
      async function copy(colls: string[], parallelism: number) {
        const { client, wire } = await watchingClient(colls);
        try {
          const namespaces = colls.map((coll) => ({ db, coll }));
          const reader = new SnapshotReader(client, namespaces, [], { batchSize: 2, parallelism });
          const copied: number[][] = [];
          let mostCopying = 0;
          for (let events = await reader.next(); events.length > 0; events = await reader.next()) {
            copied.push(events.map((event) => (event.fullDocument as Row).k as number));
            const copying = wire.begun.size - copiedColls(colls, reader.position()).length;
            mostCopying = Math.max(mostCopying, copying);
          }
          expect(reader.position()).toEqual({ phase: "done" });
          await reader.close();
          return { copied, mostCopying, mostInFlight: wire.mostInFlight };
        } finally {
          await client.close();
        }
      }

      const k = (events: readonly Doc[]) => events.map((event) => (event.fullDocument as Row).k as number);
      const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

      async function drainReader(reader: SnapshotReader): Promise<Doc[]> {
        const events: Doc[] = [];
        for (let batch = await reader.next(); batch.length > 0; batch = await reader.next())
          events.push(...batch);
        await reader.close();
        return events;
      }

      it("copies up to `parallelism` collections at once, each in _id order, every document once", async () => {
        const colls = await fill("par");
        const serial = await copy(colls, 1);
        expect(serial.copied.flat()).toEqual(ALL);
        expect(serial.mostCopying).toBe(1);
        expect(serial.mostInFlight).toBe(1);

        const parallel = await copy(colls, 2);
        // Two collections read at once, never three: both reads go out before either answers.
        expect(parallel.mostCopying).toBe(2);
        expect(parallel.mostInFlight).toBe(2);
        expect(sorted(parallel.copied.flat())).toEqual(ALL);
        for (const c of [0, 1, 2]) {
          const ofColl = parallel.copied.flat().filter((key) => Math.floor(key / 10) === c);
          expect(ofColl).toEqual([1, 2, 3, 4, 5].map((i) => c * 10 + i));
        }
        for (const batch of parallel.copied)
          expect(new Set(batch.map((key) => Math.floor(key / 10))).size).toBe(1);
      });

      it("resumes a parallel copy from its checkpoint position, copying only what was not handed over", async () => {
        const colls = await fill("res");
        const namespaces = colls.map((coll) => ({ db, coll }));
        const options = { batchSize: 2, parallelism: 2 };
        // Killed three batches into the copy: the next run goes on from the position.
        const first = new SnapshotReader(mongo.client, namespaces, [], options);
        const before = [...(await first.next()), ...(await first.next()), ...(await first.next())];
        const position = first.position();
        await first.close();
        const after = await drainReader(new SnapshotReader(mongo.client, namespaces, [], options, position));
        expect(sorted([...k(before), ...k(after)])).toEqual(ALL);

        // A position as a checkpoint stores it: the first collection half copied, the second done, the
        // third begun.
        const stored: InitialSyncPosition = {
          phase: "snapshot",
          db,
          coll: colls[0],
          lastId: 2,
          started: [
            { db, coll: colls[1], done: true },
            { db, coll: colls[2], lastId: 4 },
          ],
        };
        const rest = await drainReader(new SnapshotReader(mongo.client, namespaces, [], options, stored));
        expect(sorted(k(rest))).toEqual([3, 4, 5, 25]);
      });

      it("takes initialSync.parallelism from the $source", async () => {
        const colls = await fill("src");
        const { client, wire } = await watchingClient(colls);
        try {
          const source = new ChangeStreamSource(
            client,
            sourcePlan({ db, coll: colls, initialSync: { enable: true, parallelism: 3 } }),
            { maxBatchSize: 2 },
          );
          await source.start();
          const first = (await source.next())?.records ?? [];
          // The first batch comes from one collection, and all three were begun at once.
          expect(first).toHaveLength(2);
          expect(copiedColls(colls, source.positions().initialSync as InitialSyncPosition)).toEqual([]);
          expect([...wire.begun].sort()).toEqual(colls);
          const rest = await drain(source, 13);
          await source.next(); // finds the copy complete
          expect(source.positions().initialSync).toEqual({ phase: "done" });
          await source.close();
          expect(sorted(k([...first, ...rest].map((record) => record.doc as Doc)))).toEqual(ALL);
        } finally {
          await client.close();
        }
      });
    });
  });
});
