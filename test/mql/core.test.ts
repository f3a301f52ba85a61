import { Binary, Decimal128, Long, MaxKey, MinKey, ObjectId, Timestamp } from "bson";
import { describe, expect, it } from "vitest";
import {
  bsonTypeOf,
  compareValues,
  compileExpression,
  MqlCompileError,
  valuesEqual,
} from "../../src/mql/index.ts";

describe("bsonTypeOf", () => {
  it("classifies JS numbers the way MongoDB's JSON parser does", () => {
    expect(bsonTypeOf(1)).toBe("int");
    expect(bsonTypeOf(2 ** 31)).toBe("long");
    expect(bsonTypeOf(1.5)).toBe("double");
    expect(bsonTypeOf(-0)).toBe("double");
    expect(bsonTypeOf(NaN)).toBe("double");
  });

  it("names bson classes and missing", () => {
    expect(bsonTypeOf(undefined)).toBe("missing");
    expect(bsonTypeOf(null)).toBe("null");
    expect(bsonTypeOf(new Long(5))).toBe("long");
    expect(bsonTypeOf(Decimal128.fromString("1.5"))).toBe("decimal");
    expect(bsonTypeOf(new ObjectId())).toBe("objectId");
    expect(bsonTypeOf(new Timestamp({ t: 1, i: 1 }))).toBe("timestamp");
    expect(bsonTypeOf(new Binary(Buffer.from("x")))).toBe("binData");
    expect(bsonTypeOf(/a/)).toBe("regex");
    expect(bsonTypeOf(new Date(0))).toBe("date");
    expect(bsonTypeOf([1])).toBe("array");
    expect(bsonTypeOf({ a: 1 })).toBe("object");
  });
});

describe("compareValues", () => {
  it("orders types canonically: MinKey < missing < null < numbers < strings < objects < arrays < … < MaxKey", () => {
    const ordered = [
      new MinKey(),
      undefined,
      null,
      -1,
      "a",
      { a: 1 },
      [1],
      new Binary(Buffer.from("x")),
      new ObjectId("000000000000000000000000"),
      false,
      new Date(0),
      new Timestamp({ t: 0, i: 0 }),
      /a/,
      new MaxKey(),
    ];
    for (let i = 0; i + 1 < ordered.length; i++) {
      expect(compareValues(ordered[i], ordered[i + 1]), `${i}`).toBeLessThan(0);
      expect(compareValues(ordered[i + 1], ordered[i]), `${i}`).toBeGreaterThan(0);
    }
  });

  it("compares numbers across int, long, double and decimal exactly", () => {
    expect(compareValues(1, new Long(1))).toBe(0);
    expect(compareValues(Decimal128.fromString("1.0"), 1)).toBe(0);
    expect(compareValues(Long.fromString("9007199254740993"), 9007199254740992)).toBeGreaterThan(0);
  });

  it("treats NaN as equal to itself and below every other number", () => {
    expect(compareValues(NaN, NaN)).toBe(0);
    expect(compareValues(NaN, -Infinity)).toBeLessThan(0);
    expect(compareValues(Decimal128.fromString("NaN"), -Infinity)).toBeLessThan(0);
  });

  it("compares objects by type rank, then field name, then value, then length", () => {
    expect(compareValues({ a: 1 }, { a: "x" })).toBeLessThan(0);
    expect(compareValues({ a: 1 }, { b: 0 })).toBeLessThan(0);
    expect(compareValues({ a: 1 }, { a: 1, b: 0 })).toBeLessThan(0);
    expect(compareValues([1, 2], [1, 3])).toBeLessThan(0);
    expect(compareValues([], [null])).toBeLessThan(0);
  });

  it("compares booleans, dates and timestamps by value", () => {
    expect(compareValues(false, true)).toBeLessThan(0);
    expect(compareValues(new Date(-1), new Date(0))).toBeLessThan(0);
    expect(compareValues(new Timestamp({ t: 1, i: 9 }), new Timestamp({ t: 2, i: 0 }))).toBeLessThan(0);
  });
});

describe("valuesEqual", () => {
  it("uses numeric equality across types and strict equality for strings", () => {
    expect(valuesEqual(1, 1.0)).toBe(true);
    expect(valuesEqual(new Long(3), Decimal128.fromString("3.00"))).toBe(true);
    expect(valuesEqual("1", 1)).toBe(false);
    expect(valuesEqual(null, undefined)).toBe(false);
    expect(valuesEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
  });
});

describe("compileExpression core", () => {
  it("reads field paths with aggregation array semantics", () => {
    const read = compileExpression("$a.b");
    expect(read({ a: [{ b: 1 }, { c: 2 }, 3, { b: [4] }] }, {})).toEqual([1, [4]]);
    expect(read({ a: { b: 7 } }, {})).toBe(7);
    expect(read({ a: 5 }, {})).toBeUndefined();
    expect(compileExpression("$a.0")({ a: [{ 0: "x" }, 9] }, {})).toEqual(["x"]);
  });

  it("builds expression objects and arrays, dropping missing fields and nulling missing array items", () => {
    const build = compileExpression({ x: "$a", y: "$missing", z: ["$missing", "lit"] });
    expect(build({ a: 1 }, {})).toEqual({ x: 1, z: [null, "lit"] });
  });

  it("resolves system and declared variables", () => {
    const doc = { a: 1 };
    expect(compileExpression("$$ROOT")(doc, {})).toBe(doc);
    expect(compileExpression("$$CURRENT.a")(doc, {})).toBe(1);
    expect(compileExpression("$$REMOVE")(doc, {})).toBeUndefined();
    expect(compileExpression("$$v.k", { variables: ["v"] })(doc, { v: { k: 2 } })).toBe(2);
  });

  it("rejects bad specs at compile time naming the path", () => {
    const cases: Array<[unknown, string]> = [
      [{ $nope: 1 }, "p.$nope: Unrecognized expression '$nope'"],
      ["$$undefinedVar", "p: Use of undefined variable: undefinedVar"],
      ["$", "p: '$' by itself is not a valid field path"],
      ["$a..b", "p: field path '$a..b' has an empty component"],
      [{ a: { "b.c": 1 } }, "p.a.b.c: field name 'b.c' may not contain '.' in an expression object"],
      [{ $literal: 1, x: 2 }, "p: an expression specification must contain exactly one field"],
    ];
    for (const [spec, message] of cases) {
      const attempt = () => compileExpression(spec, { path: "p" });
      expect(attempt).toThrow(MqlCompileError);
      expect(attempt).toThrow(message);
    }
  });
});
