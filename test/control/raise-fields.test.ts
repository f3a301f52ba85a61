// `StateStore.raiseFields` on the real stores: each field raised to the highest figure of concurrent raises
// in one atomic step, from two store objects over the same place (two holders of one record), keeping the
// record's other fields exact and `get`/`list` returning the record as `put` would have.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Long } from "bson";
import { MongoClient } from "mongodb";
import { createClient, type RedisClientType } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStateStore } from "../../src/control/file-state-store.ts";
import { MongoStateStore } from "../../src/control/mongo-state-store.ts";
import { RedisStateStore } from "../../src/control/redis-state-store.ts";
import type { StateStore } from "../../src/control/state-store.ts";
import { testServices, uniqueName } from "../support/services.ts";

const db = uniqueName("eddy_raise");
let mongo: MongoClient;
let redis: RedisClientType;

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri, { serverSelectionTimeoutMS: 10_000 });
  await mongo.connect();
  redis = createClient({ url: testServices().redisUrl });
  await redis.connect();
});

afterAll(async () => {
  await mongo.db(db).dropDatabase();
  await mongo.close();
  redis.destroy();
});

/** Two store objects over the same records, as two instances (or two tasks) would hold them. */
const places: Array<[string, () => [StateStore, StateStore]]> = [
  ["MongoDB", () => [new MongoStateStore(mongo, { db }), new MongoStateStore(mongo, { db })]],
  [
    "Redis",
    () => {
      const prefix = `${uniqueName("eddy")}:`;
      return [new RedisStateStore(redis, { prefix }), new RedisStateStore(redis, { prefix })];
    },
  ],
  [
    "the file store",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "eddy-raise-"));
      return [new FileStateStore(dir), new FileStateStore(dir)];
    },
  ],
];

describe.each(places)("raiseFields on %s", (_name, open) => {
  it("leaves each field at the highest of many figures raised at the same moment", async () => {
    const [a, b] = open();
    const coll = uniqueName("counts");
    const id = uniqueName("rec");
    // Each figure is the highest in one field or another: no raise may drop another's.
    const figures = Array.from({ length: 30 }, (_, i) => ({ x: (i * 7) % 30, y: (i * 11) % 30, z: 29 - i }));
    await Promise.all(
      figures.map((figure, i) => (i % 2 ? a : b).raiseFields(coll, id, figure, { at: i % 2 })),
    );
    const raised = await a.get<Record<string, number>>(coll, id);
    expect({ x: raised?.x, y: raised?.y, z: raised?.z }).toEqual({ x: 29, y: 29, z: 29 });
    expect([0, 1]).toContain(raised?.at);
    expect(await b.list(coll)).toContainEqual({ id, value: raised });
  });

  it("never lets a lower figure raised at the same moment lower the stored one", async () => {
    const [a, b] = open();
    const coll = uniqueName("counts");
    const id = uniqueName("rec");
    let kept = 100;
    await a.raiseFields(coll, id, { n: kept });
    for (let round = 0; round < 10; round++) {
      // A stale holder's figure: above the stored one but below its successor's, written at the same moment.
      await Promise.all([
        a.raiseFields(coll, id, { n: kept + 10 }),
        b.raiseFields(coll, id, { n: kept + 5 }),
        b.raiseFields(coll, id, { n: 1 }),
      ]);
      kept += 10;
      expect(await b.get(coll, id)).toEqual({ n: kept });
    }
  });

  it("keeps the record's other fields exact, replaces `set`, and raises what a put wrote", async () => {
    const [store] = open();
    const coll = uniqueName("counts");
    const id = uniqueName("rec");
    const big = Long.fromString("9007199254740993");
    await store.put(coll, id, {
      n: 5,
      m: 9,
      note: "a",
      tags: [],
      big,
      ratio: 12345.678901234567,
      label: "x",
    });
    await store.raiseFields(coll, id, { n: 7, m: 3, fresh: 2 }, { note: "b" });
    await store.raiseFields(coll, id, { label: 4 });
    const raised = await store.get<Record<string, unknown>>(coll, id);
    // A field that was no number counts as lower.
    expect(raised).toMatchObject({
      n: 7,
      m: 9,
      fresh: 2,
      note: "b",
      tags: [],
      ratio: 12345.678901234567,
      label: 4,
    });
    expect((raised?.big as Long).toString()).toBe("9007199254740993");
    // A figure past 32 bits (which a store may read back as a Long) is not lowered either.
    await store.raiseFields(coll, id, { big: 1, size: 3_000_000_000 });
    await store.raiseFields(coll, id, { size: 2_000_000_000 });
    const large = await store.get<Record<string, unknown>>(coll, id);
    expect((large?.big as Long).toString()).toBe("9007199254740993");
    expect(Number(large?.size)).toBe(3_000_000_000);
    await store.raiseFields(coll, id, { size: 4_000_000_000 });
    const last = await store.get<Record<string, unknown>>(coll, id);
    expect(Number(last?.size)).toBe(4_000_000_000);
    expect(await store.list(coll)).toEqual([{ id, value: last }]);
    // A put still replaces the record whole, and a delete removes it.
    await store.put(coll, id, { n: 1 });
    expect(await store.get(coll, id)).toEqual({ n: 1 });
    await store.raiseFields(coll, id, { n: 0 });
    expect(await store.get(coll, id)).toEqual({ n: 1 });
    expect(await store.delete(coll, id)).toBe(true);
    expect(await store.get(coll, id)).toBeUndefined();
    await store.raiseFields(coll, id, {}, { only: "set" });
    expect(await store.get(coll, id)).toEqual({ only: "set" });
  });

  it("leaves a fenced put whole: it replaces a raised record as a put does", async () => {
    const [store] = open();
    const coll = uniqueName("counts");
    const fenced = store.fenced?.();
    if (!fenced) return; // the file store has no fenced writes
    const id = uniqueName("rec");
    await store.raiseFields(coll, id, { n: 50 }, { note: "raised" });
    expect(await fenced.put(coll, id, { n: 3 }, 1)).toBe(true);
    expect(await store.get(coll, id)).toEqual({ n: 3 });
    expect(await store.list(coll)).toEqual([{ id, value: { n: 3 } }]);
  });

  it("refuses a field name that is a path and a figure that is not finite", async () => {
    const [store] = open();
    const coll = uniqueName("counts");
    await expect(store.raiseFields(coll, "x", { "a.b": 1 })).rejects.toThrow(/not a plain field name/);
    await expect(store.raiseFields(coll, "x", { n: 1 }, { $set: 1 })).rejects.toThrow(
      /not a plain field name/,
    );
    await expect(store.raiseFields(coll, "x", { n: Number.NaN })).rejects.toThrow(/not a finite number/);
    expect(await store.get(coll, "x")).toBeUndefined();
  });
});
