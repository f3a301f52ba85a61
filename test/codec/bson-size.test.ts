import {
  Binary,
  calculateObjectSize,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  ObjectId,
  Timestamp,
  UUID,
} from "bson";
import { describe, expect, it } from "vitest";
import { bsonSize } from "../../src/codec/bson-size.ts";

describe("bsonSize", () => {
  it.each([
    ["empty", {}],
    [
      "a change event",
      {
        _id: { _data: "826B14F0C8000000012B022C0100296E5A1004" },
        operationType: "insert",
        clusterTime: new Timestamp({ t: 1796533351, i: 3 }),
        wallTime: new Date(),
        fullDocument: { _id: new ObjectId(), v: 42, name: "name-12345", tags: ["a", "b"] },
        ns: { db: "shop", coll: "orders" },
        documentKey: { _id: new ObjectId() },
      },
    ],
    [
      "numbers",
      {
        i: 1,
        neg: -2147483648,
        big: 2147483648,
        f: 1.5,
        z: -0,
        nan: NaN,
        inf: -Infinity,
        n: 12345678901234,
        b: 5n,
      },
    ],
    ["plain values", { t: true, f: false, n: null, u: undefined, s: "", uni: "ünïcødé 🌊", ключ: 1 }],
    [
      "strings either side of the ASCII scan's 64 characters",
      { short: "x".repeat(64), long: "x".repeat(65), lateUni: `${"x".repeat(63)}é`, longUni: "é".repeat(80) },
    ],
    [
      "nested arrays",
      { a: [[1, [2, [3]]], { b: [] }, [undefined, null], Array.from({ length: 120 }, (_, i) => i)] },
    ],
    [
      "other BSON types",
      {
        long: Long.fromNumber(7),
        dec: Decimal128.fromString("1.5"),
        bin: new Binary(Buffer.from("abc")),
        uuid: new UUID(),
        re: /ab+c/i,
        i32: new Int32(3),
        d: new Double(2),
        max: new MaxKey(),
      },
    ],
    ["long strings and keys", { s: "x".repeat(100), u: `${"a".repeat(65)}é`, ["k".repeat(70)]: "ü" }],
    ["functions are left out", { f: () => 1, keep: 1 }],
  ])("%s: the size bson computes", (_, doc) => {
    expect(bsonSize(doc)).toBe(calculateObjectSize(doc));
  });
});
