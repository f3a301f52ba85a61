import { Decimal128, Long } from "bson";
import { describe, expect, it } from "vitest";
import { run } from "./support.ts";

describe("aggregation truthiness", () => {
  it("false, null, missing and numeric zeros are false", () => {
    for (const falsy of [
      false,
      null,
      0,
      -0,
      Long.fromNumber(0),
      Decimal128.fromString("0.00"),
      Decimal128.fromString("-0"),
    ]) {
      expect(run({ $not: [{ $literal: falsy }] }), String(falsy)).toBe(true);
    }
    expect(run({ $not: ["$missing"] })).toBe(true);
  });

  it("everything else is true, including empty arrays, empty strings and NaN", () => {
    for (const truthy of [
      true,
      1,
      -1,
      "",
      "false",
      [],
      {},
      NaN,
      new Date(0),
      Long.fromNumber(2),
      Decimal128.fromString("0.1"),
    ]) {
      expect(run({ $not: [{ $literal: truthy }] }), String(truthy)).toBe(false);
    }
  });
});

describe("$and, $or, $not", () => {
  it("combine truthiness and short-circuit", () => {
    expect(run({ $and: [] })).toBe(true);
    expect(run({ $or: [] })).toBe(false);
    expect(run({ $and: [1, "$a", true] }, { a: "x" })).toBe(true);
    expect(run({ $and: [1, "$missing"] })).toBe(false);
    expect(run({ $or: [0, null, "$a"] }, { a: [] })).toBe(true);
    expect(run({ $not: true })).toBe(false);
    // The second operand would fail: it is never evaluated.
    expect(run({ $and: [false, { $divide: ["$a", 0] }] }, { a: 1 })).toBe(false);
    expect(run({ $or: [true, { $divide: ["$a", 0] }] }, { a: 1 })).toBe(true);
    expect(run({ $and: [true, 1, { $gt: ["$a", 0] }] }, { a: 1 })).toBe(true);
  });

  it("$not takes exactly one argument", () => {
    expect(() => run({ $not: [1, 2] })).toThrow("e.$not: expects 1 argument, got 2");
  });
});
