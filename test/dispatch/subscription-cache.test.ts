// The in-memory subscriptions follow the subscriptions collection by documentKey, without reading it again,
// on a server whose change events are shaped like MongoDB's (the order-fulfillment demo's stand-in, or
// MONGODB_URI when it is a real replica set). The shared stand-in's update events name no document
// (docs/testing.md); there the cache reloads, which test/dispatch/matching.test.ts covers.
import { MongoClient, ObjectId, type Collection } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mongoServer } from "../../examples/order-fulfillment/src/services.ts";
import { SubscriptionCache } from "../../src/dispatch/subscription-cache.ts";
import type { EventDoc, SubscriptionDoc } from "../../src/dispatch/types.ts";
import { silentLogger } from "../../src/runtime/log.ts";
import { hasRealMongo, uniqueName } from "../support/services.ts";
import { eventually } from "./support.ts";

let stop: () => Promise<void> = async () => undefined;
let client: MongoClient;
let collection: Collection<SubscriptionDoc>;
let cache: SubscriptionCache;
const db = uniqueName("dispatch_subs");

beforeAll(async () => {
  // The test set-up points MONGODB_URI at the shared stand-in: pass it on only when it is a real replica set.
  const server = await mongoServer(hasRealMongo() ? process.env : {});
  stop = server.stop;
  client = new MongoClient(server.value);
  await client.connect();
  collection = client.db(db).collection<SubscriptionDoc>("subscriptions");
}, 120_000);

afterAll(async () => {
  await cache?.close();
  await client
    ?.db(db)
    .dropDatabase()
    .catch(() => undefined);
  await client?.close();
  await stop();
});

const sub = (name: string, pattern: string): SubscriptionDoc => ({
  _id: new ObjectId(),
  client_id: "acme",
  name,
  event_type_pattern: pattern,
  target: `http://127.0.0.1:9/${name}`,
  pool_code: "default",
  active: true,
});

const event: EventDoc = {
  _id: new ObjectId(),
  type: "orders:fulfillment:shipment:shipped",
  client_id: "acme",
};
const matched = (): string[] =>
  cache
    .match(event)
    .map((s) => s.doc.name)
    .sort();

describe("subscription cache on MongoDB-shaped change events", () => {
  it("applies updates, replacements and deletes by documentKey without reloading", async () => {
    const [a, b, c] = [sub("a", "orders:*:*:*"), sub("b", "inventory:*:*:*"), sub("c", "*:*:*:*")];
    await collection.insertMany([a, b]);
    cache = new SubscriptionCache(collection, silentLogger);
    await cache.start();
    expect(matched()).toEqual(["a"]);

    await collection.insertOne(c);
    await collection.updateOne({ _id: b._id }, { $set: { event_type_pattern: "orders:fulfillment:*:*" } });
    await collection.updateOne({ _id: a._id }, { $set: { active: false } });
    await eventually(async () => matched().join() === "b,c", "updates applied");

    await collection.replaceOne({ _id: a._id }, { ...a, name: "a2", active: true });
    await collection.deleteOne({ _id: c._id });
    await eventually(async () => matched().join() === "a2,b", "replacement and delete applied");
    // Read once at start; every later change came from its event alone.
    expect(cache.reloads).toBe(1);
  });
});
