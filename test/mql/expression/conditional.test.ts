import { describe, expect, it } from "vitest";
import { MqlRuntimeError } from "../../../src/mql/index.ts";
import { run } from "./support.ts";

describe("$cond", () => {
  it("accepts the array and object forms", () => {
    expect(run({ $cond: [{ $gt: ["$a", 1] }, "big", "small"] }, { a: 2 })).toBe("big");
    expect(run({ $cond: { if: "$missing", then: "yes", else: "no" } })).toBe("no");
    expect(run({ $cond: { if: [], then: "yes", else: "no" } })).toBe("yes");
    expect(run({ $cond: [true, "$missing", 1] })).toBeUndefined();
  });

  it("evaluates only the chosen branch", () => {
    expect(run({ $cond: [true, 1, { $divide: ["$a", 0] }] }, { a: 1 })).toBe(1);
  });

  it("reports malformed arguments by name", () => {
    expect(() => run({ $cond: [1, 2] })).toThrow("e.$cond: expects 3 arguments, got 2");
    expect(() => run({ $cond: { if: 1, then: 2 } })).toThrow("e.$cond: missing required argument 'else'");
    expect(() => run({ $cond: { if: 1, then: 2, else: 3, other: 4 } })).toThrow(
      "e.$cond: unknown argument 'other'",
    );
  });
});

describe("$ifNull", () => {
  it("returns the first non-null, non-missing value, else the replacement", () => {
    expect(run({ $ifNull: ["$a", "default"] }, { a: null })).toBe("default");
    expect(run({ $ifNull: ["$a", "default"] }, { a: 0 })).toBe(0);
    expect(run({ $ifNull: ["$missing", null, "$b", "last"] }, { b: false })).toBe(false);
    expect(run({ $ifNull: ["$missing", null, "last"] })).toBe("last");
    expect(run({ $ifNull: ["$missing", "$alsoMissing"] })).toBeUndefined();
  });

  it("needs at least two arguments", () => {
    expect(() => run({ $ifNull: ["$a"] })).toThrow("e.$ifNull: expects at least 2 arguments, got 1");
  });
});

describe("$switch", () => {
  const grade = {
    $switch: {
      branches: [
        { case: { $gte: ["$score", 90] }, then: "A" },
        { case: { $gte: ["$score", 80] }, then: "B" },
      ],
      default: "C",
    },
  };

  it("takes the first matching branch, else the default", () => {
    expect(run(grade, { score: 95 })).toBe("A");
    expect(run(grade, { score: 85 })).toBe("B");
    expect(run(grade, { score: 10 })).toBe("C");
  });

  it("fails per document when nothing matches and there is no default", () => {
    const expr = { $switch: { branches: [{ case: { $eq: ["$a", 1] }, then: "one" }] } };
    expect(run(expr, { a: 1 })).toBe("one");
    let error: unknown;
    try {
      run(expr, { a: 2 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MqlRuntimeError);
    expect((error as MqlRuntimeError).message).toBe(
      "$switch could not find a matching branch for an input, and no default was specified.",
    );
    expect((error as MqlRuntimeError).path).toBe("e.$switch");
  });

  it("validates branches at compile time", () => {
    expect(() => run({ $switch: { branches: [] } })).toThrow(
      "e.$switch.branches: $switch requires at least one branch",
    );
    expect(() => run({ $switch: { branches: [{ case: true }] } })).toThrow(
      "e.$switch.branches[0]: $switch requires each branch have a 'then' expression",
    );
    expect(() => run({ $switch: { branches: [{ case: true, then: 1, else: 2 }] } })).toThrow(
      "e.$switch.branches[0]: $switch found an unknown argument to a branch: else",
    );
    expect(() => run({ $switch: { branches: [1] } })).toThrow("$switch expected each branch to be an object");
    expect(() => run({ $switch: { branches: [{ case: true, then: 1 }], fallback: 1 } })).toThrow(
      "unknown argument 'fallback'",
    );
  });
});
