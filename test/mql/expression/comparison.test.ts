import { Decimal128, Long, MaxKey, MinKey, ObjectId } from "bson";
import { describe, expect, it } from "vitest";
import { run } from "./support.ts";

describe("comparison operators", () => {
  it("compare numbers of every type by value", () => {
    expect(run({ $eq: [1, Long.fromNumber(1)] })).toBe(true);
    expect(run({ $eq: [Decimal128.fromString("1.0"), 1] })).toBe(true);
    expect(run({ $lt: [Long.fromString("9007199254740993"), Long.fromString("9007199254740994")] })).toBe(
      true,
    );
    expect(run({ $gt: [0.5, Decimal128.fromString("0.4")] })).toBe(true);
    expect(run({ $ne: [1, 2] })).toBe(true);
    expect(run({ $gte: [2, 2] })).toBe(true);
    expect(run({ $lte: [3, 2] })).toBe(false);
  });

  it("order across types without bracketing: missing < null < numbers < strings < objects < arrays", () => {
    expect(run({ $lt: ["$missing", null] })).toBe(true);
    expect(run({ $eq: ["$missing", null] })).toBe(false);
    expect(run({ $eq: ["$missing", "$alsoMissing"] })).toBe(true);
    expect(run({ $gt: ["a", 1] })).toBe(true);
    expect(run({ $gt: [{ a: 1 }, "z"] })).toBe(true);
    expect(run({ $gt: [[1], { a: 1 }] })).toBe(true);
    expect(run({ $gt: [true, new ObjectId()] })).toBe(true);
    expect(run({ $lt: [new MinKey(), null] })).toBe(true);
    expect(run({ $gt: [new MaxKey(), new Date(0)] })).toBe(true);
  });

  it("treat NaN as equal to itself and below every other number", () => {
    expect(run({ $eq: [NaN, NaN] })).toBe(true);
    expect(run({ $lt: [NaN, -Infinity] })).toBe(true);
    expect(run({ $gt: [NaN, null] })).toBe(true);
  });

  it("compare arrays and documents element by element", () => {
    expect(
      run({
        $eq: [
          [1, 2],
          [1, 2],
        ],
      }),
    ).toBe(true);
    expect(run({ $eq: ["$x", "$y"] }, { x: [1, 2], y: [1, 2] })).toBe(true);
    expect(run({ $lt: ["$x", "$y"] }, { x: [1, 2], y: [1, 3] })).toBe(true);
    expect(run({ $eq: ["$x", "$y"] }, { x: { a: 1, b: 2 }, y: { b: 2, a: 1 } })).toBe(false);
  });

  it("$cmp returns -1, 0 or 1", () => {
    expect(run({ $cmp: [1, 2] })).toBe(-1);
    expect(run({ $cmp: ["b", "b"] })).toBe(0);
    expect(run({ $cmp: ["a", 5] })).toBe(1);
    expect(run({ $cmp: ["$missing", null] })).toBe(-1);
  });

  it("compares strings by code unit", () => {
    expect(run({ $lt: ["B", "a"] })).toBe(true);
    expect(run({ $gt: ["ab", "a"] })).toBe(true);
  });

  it("requires exactly two arguments", () => {
    expect(() => run({ $eq: [1] })).toThrow("e.$eq: expects 2 arguments, got 1");
    expect(() => run({ $cmp: [1, 2, 3] })).toThrow("e.$cmp: expects 2 arguments, got 3");
  });
});
