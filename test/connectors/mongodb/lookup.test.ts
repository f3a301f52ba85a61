import { beforeAll, describe, expect, it } from "vitest";
import { Lookup, mongoForeign } from "../../../src/connectors/mongodb/lookup.ts";
import { LookupCache } from "../../../src/connectors/mongodb/lookup-cache.ts";
import { compileExpression, type Doc } from "../../../src/mql/index.ts";
import { useMongoDatabase } from "../../support/mongo.ts";

const run = async (lookup: Lookup, docs: Doc[]): Promise<Doc[]> =>
  (await lookup.apply(docs, () => ({}))) as Doc[];

describe("Lookup", () => {
  const mongo = useMongoDatabase("lookup");
  const { db } = mongo;

  beforeAll(async () => {
    await mongo.client
      .db(db)
      .collection<{ _id: number; [key: string]: unknown }>("products")
      .insertMany([
        { _id: 1, sku: "a", tags: ["x"], price: 10 },
        { _id: 2, sku: "b", tags: ["x", "y"], price: 20 },
        { _id: 3, sku: null, price: 0 },
        { _id: 4, price: 1 },
      ]);
  });

  const ids = (docs: unknown) => (docs as Doc[]).map((d) => d._id).sort();

  it("joins a batch by equality with MongoDB's rules for arrays, null and missing", async () => {
    const lookup = new Lookup(
      mongoForeign(mongo.client),
      { from: { db, coll: "products" }, localField: "sku", foreignField: "sku", as: "product" },
      "pipeline[1].$lookup",
    );
    const out = await run(lookup, [{ sku: "a" }, { sku: ["a", "b"] }, { sku: "zzz" }, {}, { sku: [] }]);
    expect(ids(out[0].product)).toEqual([1]);
    expect(ids(out[1].product)).toEqual([1, 2]);
    expect(out[2].product).toEqual([]);
    expect(ids(out[3].product)).toEqual([3, 4]);
    expect(out[4].product).toEqual([]);
  });

  it("matches a scalar local value against array foreign fields and writes dotted `as` paths", async () => {
    const lookup = new Lookup(
      mongoForeign(mongo.client),
      { from: { db, coll: "products" }, localField: "tag", foreignField: "tags", as: "info.products" },
      "p",
    );
    const [out] = await run(lookup, [{ tag: "y", info: { keep: 1 } }]);
    expect(out.info).toMatchObject({ keep: 1 });
    expect(ids((out.info as Doc).products)).toEqual([2]);
  });

  it("runs the let/pipeline form per document with the variables bound", async () => {
    const lookup = new Lookup(
      mongoForeign(mongo.client),
      {
        from: { db, coll: "products" },
        let: { max: compileExpression("$budget") },
        pipeline: [{ $match: { $expr: { $lte: ["$price", "$$max"] } } }, { $project: { _id: 1 } }],
        as: "affordable",
      },
      "p",
    );
    const out = await run(lookup, [{ budget: 10 }, { budget: 0 }]);
    expect(ids(out[0].affordable)).toEqual([1, 3, 4]);
    expect(ids(out[1].affordable)).toEqual([3]);
  });

  it("serves $cachedLookup from its cache until the TTL passes", async () => {
    const lookup = new Lookup(
      mongoForeign(mongo.client),
      {
        from: { db, coll: "products" },
        localField: "sku",
        foreignField: "sku",
        as: "p",
        cache: { ttlMs: 60_000, maxBytes: 1 << 20 },
      },
      "p",
    );
    expect(ids((await run(lookup, [{ sku: "a" }]))[0].p)).toEqual([1]);
    await mongo.client
      .db(db)
      .collection<{ _id: number; [key: string]: unknown }>("products")
      .insertOne({ _id: 5, sku: "a" });
    expect(ids((await run(lookup, [{ sku: "a" }]))[0].p)).toEqual([1]);
    await mongo.client
      .db(db)
      .collection<{ _id: number; [key: string]: unknown }>("products")
      .deleteOne({ _id: 5 });
  });
});

describe("LookupCache", () => {
  it("expires entries after the TTL and evicts expired, then oldest, entries when full", () => {
    let now = 0;
    const cache = new LookupCache(1000, 400, () => now);
    cache.store("a", [{ _id: 1 }]);
    cache.store("b", [{ _id: 2 }]);
    expect(cache.lookup(["a", "b", "c"]).misses).toEqual(["c"]);
    now = 1500;
    expect(cache.lookup(["a"]).misses).toEqual(["a"]);
    cache.store("big", [{ x: "y".repeat(300) }]);
    cache.store("c", [{ _id: 3 }]);
    expect(cache.sizeBytes).toBeLessThanOrEqual(400);
    expect(cache.lookup(["c"]).hits).toEqual([{ _id: 3 }]);
  });
});
