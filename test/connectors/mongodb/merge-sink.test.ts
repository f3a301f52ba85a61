import { MongoClient, ObjectId, type CommandStartedEvent } from "mongodb";
import { testServices } from "../../support/services.ts";
import { ConnectorError } from "../../../src/runtime/errors.ts";
import { describe, expect, it } from "vitest";
import { MergeSink, type MergeSinkPlan } from "../../../src/connectors/mongodb/merge-sink.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import { useMongoDatabase } from "../../support/mongo.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

const catalog = new MapConnectionCatalog([{ name: "db", type: "Cluster", config: {} }]);

function mergePlan(merge: Doc): MergeSinkPlan {
  const plan = planProcessor(
    {
      name: "t",
      pipeline: [
        { $source: { documents: [] } },
        { $merge: { ...merge, into: { connectionName: "db", ...(merge.into as Doc) } } },
      ],
    },
    { connectors: CONNECTORS, connections: catalog },
  );
  if (plan.sink?.kind !== "merge") throw new Error("expected a $merge sink");
  return plan.sink;
}

describe("MergeSink", () => {
  const mongo = useMongoDatabase("merge");
  const { db } = mongo;

  const contents = (coll: string) =>
    mongo.client
      .db(db)
      .collection(coll)
      .find({}, { sort: { _id: 1 } })
      .toArray();

  it("merges by default: inserts new documents and sets fields on existing ones, in order", async () => {
    const sink = new MergeSink(mongo.client, mergePlan({ into: { db, coll: "default" } }));
    await sink.write([
      { _id: 1, a: 1, b: 1 },
      { _id: 2, a: 2 },
    ]);
    const result = await sink.write([
      { _id: 1, a: 10 },
      { _id: 1, c: 3 },
    ]);
    expect(result.failures).toBeUndefined();
    expect(result.bytes).toBeGreaterThan(0);
    expect(await contents("default")).toEqual([
      { _id: 1, a: 10, b: 1, c: 3 },
      { _id: 2, a: 2 },
    ]);
  });

  it("inserts first once a large batch was all new; existing documents take their merge and end it", async () => {
    const client = new MongoClient(testServices().mongodbUri, { monitorCommands: true });
    const commands: string[] = [];
    client.on("commandStarted", (event: CommandStartedEvent) => {
      if (event.commandName === "insert" || event.commandName === "update")
        commands.push(`${event.commandName}:${(event.command.documents ?? event.command.updates).length}`);
    });
    const many = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ _id: from + i, a: from + i }));
    try {
      const sink = new MergeSink(client, mergePlan({ into: { db, coll: "insert_first" } }));
      // A small batch, then a large one of new documents: upserts (all of which inserted).
      await sink.write([{ _id: 1, a: 1, keep: true }]);
      await sink.write(many(100, 64));
      expect(commands.splice(0)).toEqual(["update:1", "update:64"]);
      // Now one insert for new documents.
      await sink.write(many(200, 10));
      expect(commands.splice(0)).toEqual(["insert:10"]);
      // A re-sent document among new ones: merged (its other fields stay), and insert-first ends.
      const result = await sink.write([
        { _id: 1, a: 10 },
        { _id: 300, a: 300 },
      ]);
      expect(result.failures).toBeUndefined();
      expect(commands.splice(0)).toEqual(["insert:2", "update:1"]);
      await sink.write([{ _id: 301, a: 301 }]);
      expect(commands.splice(0)).toEqual(["update:1"]);
      // A field name with a dot is a path to $set, not a literal name: such a batch is never inserted.
      await sink.write([...many(400, 63), { _id: 463, "x.y": 1 }]);
      await sink.write([{ _id: 500, a: 500 }]);
      expect(commands.splice(0)).toEqual(["update:64", "update:1"]);
    } finally {
      await client.close();
    }
    const stored = await contents("insert_first");
    expect(stored).toHaveLength(1 + 64 + 10 + 1 + 1 + 64 + 1);
    expect(stored.find((d) => (d._id as unknown) === 1)).toEqual({ _id: 1, a: 10, keep: true });
    expect(stored.find((d) => (d._id as unknown) === 463)).toEqual({ _id: 463, x: { y: 1 } });
  });

  it("gives documents without _id a new ObjectId", async () => {
    const sink = new MergeSink(mongo.client, mergePlan({ into: { db, coll: "noid" } }));
    await sink.write([{ x: 1 }, { x: 2 }]);
    const docs = await contents("noid");
    expect(docs).toHaveLength(2);
    expect(docs.every((d) => d._id instanceof ObjectId)).toBe(true);
  });

  it("supports replace, keepExisting and delete, and discard for unmatched documents", async () => {
    const coll = "modes";
    await mongo.client
      .db(db)
      .collection(coll)
      .insertMany([
        { _id: 1, a: 1, keep: true },
        { _id: 2, a: 2 },
        { _id: 3, a: 3 },
      ] as Doc[]);
    await new MergeSink(mongo.client, mergePlan({ into: { db, coll }, whenMatched: "replace" })).write([
      { _id: 1, a: 100 },
    ]);
    await new MergeSink(mongo.client, mergePlan({ into: { db, coll }, whenMatched: "keepExisting" })).write([
      { _id: 2, a: 200 },
      { _id: 4, a: 4 },
    ]);
    await new MergeSink(
      mongo.client,
      mergePlan({ into: { db, coll }, whenMatched: "delete", whenNotMatched: "discard" }),
    ).write([{ _id: 3 }, { _id: 99 }]);
    await new MergeSink(mongo.client, mergePlan({ into: { db, coll }, whenNotMatched: "discard" })).write([
      { _id: 5, a: 5 },
    ]);
    expect(await contents(coll)).toEqual([
      { _id: 1, a: 100 },
      { _id: 2, a: 2 },
      { _id: 4, a: 4 },
    ]);
  });

  it("routes each document by dynamic db/coll expressions and chooses the mode per document", async () => {
    const plan = mergePlan({
      into: { db, coll: { $concat: ["dyn_", "$kind"] } },
      whenMatched: { $cond: { if: "$gone", then: "delete", else: "replace" } },
    });
    const sink = new MergeSink(mongo.client, plan);
    await sink.write([
      { _id: 1, kind: "a", v: 1 },
      { _id: 1, kind: "b", v: 1 },
      { _id: 1, kind: "a", v: 2 },
    ]);
    await sink.write([{ _id: 1, kind: "b", gone: true }]);
    expect(await contents("dyn_a")).toEqual([{ _id: 1, kind: "a", v: 2 }]);
    expect(await contents("dyn_b")).toEqual([]);
  });

  it("applies an update pipeline with $$new to matched documents and inserts unmatched ones", async () => {
    const coll = "pipeline";
    await mongo.client
      .db(db)
      .collection(coll)
      .insertOne({ _id: 1, total: 5 } as Doc);
    const sink = new MergeSink(
      mongo.client,
      mergePlan({
        into: { db, coll },
        whenMatched: [{ $set: { total: { $add: ["$total", "$$new.amount"] } } }],
      }),
    );
    await sink.write([
      { _id: 1, amount: 3 },
      { _id: 2, amount: 7 },
    ]);
    expect(await contents(coll)).toEqual([
      { _id: 1, total: 8 },
      { _id: 2, amount: 7 },
    ]);
  });

  it("fails only the documents that cannot be written and writes the rest of the batch", async () => {
    const sink = new MergeSink(mongo.client, mergePlan({ into: { db, coll: "$target" }, on: ["key"] }));
    const result = await sink.write([
      { _id: 1, key: "a", target: "bad" },
      { _id: 2, target: "bad" },
      { _id: 3, key: "c", target: 42 },
      { _id: 4, key: "d", target: "bad" },
    ]);
    expect(result.failures?.map((f) => f.index)).toEqual([1, 2]);
    expect(result.failures?.[0].message).toBe(
      "$merge write error: 'on' field 'key' cannot be missing, null, undefined or an array",
    );
    expect(result.failures?.[1].message).toContain(
      "Failed to evaluate target namespace in MergeOperator with error:",
    );
    expect((await contents("bad")).map((d) => d._id)).toEqual([1, 4]);
  });

  it("retries a duplicate key alone, then reports it in ASP's words with its attempts, and keeps going", async () => {
    const coll = "dupes";
    await mongo.client.db(db).collection(coll).createIndex({ email: 1 }, { unique: true });
    const sink = new MergeSink(mongo.client, mergePlan({ into: { db, coll } }), {
      documentRetries: { maxRetries: 3, retryDelayMs: 1 },
    });
    const result = await sink.write([
      { _id: 1, email: "a@x" },
      { _id: 2, email: "a@x" },
      { _id: 3, email: "c@x" },
    ]);
    expect(result.failures?.map((f) => [f.index, f.attempts])).toEqual([[1, 3]]);
    expect(result.failures?.[0].message).toMatch(/^code = DuplicateKey, reason = /);
    expect((await contents(coll)).map((d) => d._id)).toEqual([1, 3]);
  });

  it("writes a refused document on a later attempt once the conflict is gone", async () => {
    const coll = "dupes_heal";
    const target = mongo.client.db(db).collection<{ _id: number; email: string }>(coll);
    await target.createIndex({ email: 1 }, { unique: true });
    await target.insertOne({ _id: 9, email: "a@x" });
    const sink = new MergeSink(mongo.client, mergePlan({ into: { db, coll } }), {
      documentRetries: { maxRetries: 3, retryDelayMs: 1 },
    });
    // Document 9 gives the address up later in the same batch: the refused first document's retry succeeds.
    const result = await sink.write([
      { _id: 1, email: "a@x" },
      { _id: 9, email: "b@x" },
    ]);
    expect(result.failures).toBeUndefined();
    expect(await contents(coll)).toEqual([
      { _id: 1, email: "a@x" },
      { _id: 9, email: "b@x" },
    ]);
  });

  it("a server that cannot be reached fails the write (retryable): no document is dead-lettered", async () => {
    const client = new MongoClient("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200");
    const sink = new MergeSink(client, mergePlan({ into: { db, coll: "down" } }), {
      retry: { attempts: 1 },
    });
    const error = await sink.write([{ _id: 1 }]).catch((e: unknown) => e);
    await client.close();
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).retryable).toBe(true);
  });
});
