import { Decimal128, Long } from "bson";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { MongoStateStore, databaseInUri } from "../../src/control/mongo-state-store.ts";
import { openStateStore, describeStateStore } from "../../src/control/open-state-store.ts";
import { FileStateStore } from "../../src/control/file-state-store.ts";
import { testServices, uniqueName } from "../support/services.ts";

const db = uniqueName("eddy_state");
const stores: MongoStateStore[] = [];

afterAll(async () => {
  const client = new MongoClient(testServices().mongodbUri);
  await client.db(db).dropDatabase();
  await client.close();
  await Promise.all(stores.map((s) => s.close()));
});

async function store(): Promise<MongoStateStore> {
  const s = await MongoStateStore.connect(testServices().mongodbUri, { db });
  stores.push(s);
  return s;
}

describe("MongoStateStore", () => {
  it("puts, gets, lists and deletes records, keeping BSON values and $-prefixed keys", async () => {
    const s = await store();
    const pipeline = [
      { $source: { connectionName: "kafka", topic: "t" } },
      { $merge: { into: { db: "a", coll: "b" } } },
    ];
    await s.put("processors", "default/p", {
      pipeline,
      at: new Date(5),
      offset: Long.fromString("9007199254740993"),
      price: Decimal128.fromString("1.10"),
      ratio: 0.5,
      negZero: -0,
    });
    await s.put("processors", "default/q", { state: "CREATED" });
    const got = await s.get<Record<string, unknown>>("processors", "default/p");
    expect(got?.pipeline).toEqual(pipeline);
    expect(got?.at).toEqual(new Date(5));
    expect((got?.offset as Long).toString()).toBe("9007199254740993");
    expect((got?.price as Decimal128).toString()).toBe("1.10");
    expect(got?.ratio).toBe(0.5);
    expect(Object.is(got?.negZero, -0)).toBe(true);
    expect((await s.list("processors")).map((r) => r.id)).toEqual(["default/p", "default/q"]);
    expect(await s.delete("processors", "default/q")).toBe(true);
    expect(await s.delete("processors", "default/q")).toBe(false);
    expect(await s.get("processors", "default/q")).toBeUndefined();
    expect(await s.list("nothing")).toEqual([]);
  });

  it("replaces a record whole and is seen by a second store on the same database", async () => {
    const a = await store();
    const b = await store();
    await a.put("checkpoints", "x", { id: 1, positions: { "t:0": 5 } });
    await a.put("checkpoints", "x", { id: 2 });
    expect(await b.get("checkpoints", "x")).toEqual({ id: 2 });
  });
});

describe("openStateStore", () => {
  it("picks the file store without a URI and MongoDB for mongodb://", async () => {
    expect(await openStateStore({ dataDir: "/tmp/x" })).toBeInstanceOf(FileStateStore);
    const uri = testServices().mongodbUri.replace("/?", `/${db}?`);
    const mongo = await openStateStore({ dataDir: "/tmp/x", stateUri: uri });
    expect(mongo).toBeInstanceOf(MongoStateStore);
    await mongo.put("workspaces", "w", { name: "w" });
    expect(await (await store()).get("workspaces", "w")).toEqual({ name: "w" });
    await mongo.close();
  });

  it("refuses an unknown scheme without showing credentials", async () => {
    await expect(
      openStateStore({ dataDir: "/tmp/x", stateUri: "postgres://u:hunter22@h/db" }),
    ).rejects.toThrow(/unsupported state store URI scheme in 'postgres:\/\/\*\*\*@h\/db'/);
    expect(describeStateStore({ dataDir: "/d", stateUri: "mongodb://u:pw@h:1/x" })).toBe(
      "mongodb://***@h:1/x",
    );
    expect(describeStateStore({ dataDir: "/d" })).toBe("file:/d/state");
  });

  it("reads the database from the URI path", () => {
    expect(databaseInUri("mongodb://h:1/mydb?x=1")).toBe("mydb");
    expect(databaseInUri("mongodb://h:1/?x=1")).toBe("");
  });
});
