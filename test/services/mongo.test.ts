// Proves the MongoDB endpoint is a real wire-protocol server driven by the official driver: CRUD,
// a change stream, and resuming it from a token on a new connection.
import { MongoClient, type ChangeStreamDocument, type ResumeToken } from "mongodb";
import { describe, expect, it } from "vitest";
import { useMongoDatabase } from "../support/mongo.ts";
import { requiresRealMongo, testServices } from "../support/services.ts";

interface Item {
  _id: number;
  a: number;
}

describe("MongoDB test server", () => {
  const mongo = useMongoDatabase("smoke");
  const { db: dbName } = mongo;

  it("inserts, updates, deletes and finds documents", async () => {
    const items = mongo.client.db(dbName).collection<Item>("crud");
    await items.insertMany([
      { _id: 1, a: 1 },
      { _id: 2, a: 2 },
    ]);
    await items.updateOne({ _id: 1 }, { $inc: { a: 10 } });
    await items.updateOne({ _id: 3 }, { $set: { a: 3 } }, { upsert: true });
    await items.deleteOne({ _id: 2 });
    expect(await items.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
      { _id: 1, a: 11 },
      { _id: 3, a: 3 },
    ]);
  });

  it("streams changes and resumes from a token after reconnecting", async () => {
    const items = mongo.client.db(dbName).collection<Item>("changes");
    const stream = items.watch<Item>([], { fullDocument: "updateLookup" });
    // Opens the cursor, so that the writes below happen after the stream started.
    expect(await stream.tryNext()).toBeNull();

    await items.insertOne({ _id: 1, a: 1 });
    const inserted = await stream.next();
    await items.updateOne({ _id: 1 }, { $set: { a: 2 } });
    const updated = await stream.next();
    await items.deleteOne({ _id: 1 });
    const deleted = await stream.next();
    await stream.close();

    expect(inserted).toMatchObject({
      operationType: "insert",
      documentKey: { _id: 1 },
      fullDocument: { _id: 1, a: 1 },
    });
    expect(updated).toMatchObject({ operationType: "update", fullDocument: { _id: 1, a: 2 } });
    expect(deleted).toMatchObject({ operationType: "delete", documentKey: { _id: 1 } });

    const resumed = await resumeOnNewConnection(inserted._id, dbName);
    expect(resumed.map((event) => event.operationType)).toEqual(["update", "delete"]);
  });

  requiresRealMongo.it("reports updateDescription on update events (the stand-in does not)", async () => {
    const items = mongo.client.db(dbName).collection<Item & { b?: number }>("update-description");
    const stream = items.watch<Item>();
    await stream.tryNext();
    await items.insertOne({ _id: 1, a: 1, b: 1 });
    await items.updateOne({ _id: 1 }, { $set: { a: 2 }, $unset: { b: "" } });
    await stream.next();
    const update = await stream.next();
    await stream.close();
    expect(update).toMatchObject({
      operationType: "update",
      documentKey: { _id: 1 },
      ns: { db: dbName, coll: "update-description" },
      updateDescription: { updatedFields: { a: 2 }, removedFields: ["b"] },
    });
  });
});

async function resumeOnNewConnection(
  token: ResumeToken,
  dbName: string,
): Promise<ChangeStreamDocument<Item>[]> {
  const reconnected = new MongoClient(testServices().mongodbUri, { serverSelectionTimeoutMS: 10_000 });
  try {
    const stream = reconnected.db(dbName).collection<Item>("changes").watch<Item>([], { resumeAfter: token });
    const events = [await stream.next(), await stream.next()];
    await stream.close();
    return events;
  } finally {
    await reconnected.close();
  }
}
