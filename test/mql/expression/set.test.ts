import fc from "fast-check";
import { Decimal128, Long } from "bson";
import { aggregate } from "mingo";
import { describe, expect, it } from "vitest";
import { compareValues } from "../../../src/mql/compare.ts";
import { compileExpression } from "../../../src/mql/expression/compile.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { run } from "./support.ts";

const fails =
  (expr: unknown, doc: Doc = {}): (() => unknown) =>
  () =>
    run(expr, doc);
const sorted = (v: unknown): unknown => (Array.isArray(v) ? [...v].sort(compareValues) : v);

describe("set operators", () => {
  it("treat numerically equal values as one element and drop duplicates", () => {
    expect(
      run({
        $setUnion: [
          [1, 1, Long.fromNumber(1)],
          [Decimal128.fromString("1.0"), 2],
        ],
      }),
    ).toEqual([1, 2]);
    expect(
      run({
        $setEquals: [
          [1, 2, 2],
          [Long.fromNumber(2), 1.0],
        ],
      }),
    ).toBe(true);
    expect(run({ $setEquals: [[1], [1], [1, 2]] })).toBe(false);
    expect(
      sorted(
        run({
          $setIntersection: [
            [1, 2, 3, 3],
            [3, 2.0, "2"],
            [2, 3],
          ],
        }),
      ),
    ).toEqual([2, 3]);
    expect(
      run({
        $setDifference: [
          [1, 2, 2, { a: 1 }],
          [1, { a: 1.0 }],
        ],
      }),
    ).toEqual([2]);
    expect(
      run({
        $setIsSubset: [
          [1, 1],
          [Long.fromNumber(1), 2],
        ],
      }),
    ).toBe(true);
    expect(run({ $setIsSubset: [[[1]], [1]] })).toBe(false);
    expect(run({ $setUnion: [[{ a: 1, b: 2 }], [{ b: 2, a: 1 }]] })).toHaveLength(2);
  });

  it("handle no and empty arguments", () => {
    expect(run({ $setUnion: [] })).toEqual([]);
    expect(run({ $setIntersection: [] })).toEqual([]);
    expect(run({ $setIntersection: [[1], []] })).toEqual([]);
    expect(run({ $setIsSubset: [[], []] })).toBe(true);
  });

  it("return null for a nullish operand where MongoDB does, and fail where it does not", () => {
    expect(run({ $setUnion: [[1], "$missing"] })).toBeNull();
    expect(run({ $setIntersection: [null, [1]] })).toBeNull();
    expect(run({ $setDifference: [[1], null] })).toBeNull();
    expect(fails({ $setEquals: [[1], null] })).toThrow(
      "All operands of $setEquals must be arrays. One argument is of type: null",
    );
    expect(fails({ $setIsSubset: [null, [1]] })).toThrow(
      "both operands of $setIsSubset must be arrays. First argument is of type: null",
    );
    expect(fails({ $setDifference: [[1], 5] })).toThrow(
      "both operands of $setDifference must be arrays. Second argument is of type: int",
    );
    expect(fails({ $setUnion: [[1], "x"] })).toThrow(
      "All operands of $setUnion must be arrays. One argument is of type: string",
    );
    expect(fails({ $setEquals: [[1]] })).toThrow("expects at least 2 arguments, got 1");
    expect(fails({ $setDifference: [[1], [2], [3]] })).toThrow("expects 2 arguments, got 3");
  });

  it("$anyElementTrue/$allElementsTrue use aggregation truthiness", () => {
    expect(run({ $anyElementTrue: [[0, null, false]] })).toBe(false);
    expect(run({ $anyElementTrue: [[0, [], false]] })).toBe(true);
    expect(run({ $allElementsTrue: [[1, "", [0], Decimal128.fromString("0.1")]] })).toBe(true);
    expect(run({ $allElementsTrue: [[1, Long.fromNumber(0)]] })).toBe(false);
    expect(run({ $allElementsTrue: [[]] })).toBe(true);
    expect(run({ $anyElementTrue: [[]] })).toBe(false);
    expect(fails({ $anyElementTrue: "$missing" })).toThrow(
      "$anyElementTrue's argument must be an array, but is missing",
    );
  });
});

describe("set operators against mingo", () => {
  const element = fc.oneof(
    fc.integer({ min: -3, max: 3 }),
    fc.constantFrom(0.5, "a", "b", true, false, null),
    fc.constantFrom([1], [1, 2], { a: 1 }),
  );
  const set = fc.array(element, { maxLength: 6 });

  function mingo(expr: Doc, doc: Doc): Doc {
    return (aggregate([structuredClone(doc)], [{ $project: { _id: 0, ...expr } }]) as Doc[])[0];
  }

  it("agree on every operator over random sets (set results compared as sets)", () => {
    const exprs: Doc = {
      union: { $setUnion: ["$a", "$b", "$c"] },
      inter: { $setIntersection: ["$a", "$b"] },
      diff: { $setDifference: ["$a", "$b"] },
      equals: { $setEquals: ["$a", "$b"] },
      equalsSelf: { $setEquals: ["$a", { $setUnion: ["$a", "$a"] }] },
      subset: { $setIsSubset: ["$a", "$b"] },
      subsetUnion: { $setIsSubset: ["$a", { $setUnion: ["$a", "$b"] }] },
      any: { $anyElementTrue: ["$a"] },
      all: { $allElementsTrue: ["$a"] },
    };
    const compiled = Object.entries(exprs).map(([field, expr]) => [field, compileExpression(expr)] as const);
    fc.assert(
      fc.property(set, set, set, (a, b, c) => {
        const doc = { a, b, c };
        const theirs = mingo(exprs, doc);
        for (const [field, evaluate] of compiled) {
          expect({ field, doc, value: sorted(evaluate(doc, {})) }).toEqual({
            field,
            doc,
            value: sorted(theirs[field]),
          });
        }
      }),
      { numRuns: 800 },
    );
  });
});
