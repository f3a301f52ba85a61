import { Decimal128, Long } from "bson";
import { describe, expect, it } from "vitest";
import { compileExpression } from "../../../src/mql/expression/compile.ts";
import { MqlCompileError, MqlRuntimeError } from "../../../src/mql/errors.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { run } from "./support.ts";

const fails =
  (expr: unknown, doc: Doc = {}): (() => unknown) =>
  () =>
    run(expr, doc);

describe("$map, $filter, $reduce", () => {
  it("$map binds 'this' by default, or the 'as' name, and turns missing results into null", () => {
    expect(run({ $map: { input: [1, 2], in: ["$$this"] } })).toEqual([[1], [2]]);
    expect(run({ $map: { input: "$xs", as: "x", in: "$$x.a" } }, { xs: [{ a: 1 }, { b: 2 }] })).toEqual([
      1,
      null,
    ]);
    expect(run({ $map: { input: "$missing", in: "$$this" } })).toBeNull();
    expect(fails({ $map: { input: 5, in: "$$this" } })).toThrow("input to $map must be an array not int");
  });

  it("nested $map sees outer variables and shadows with inner ones", () => {
    const expr = { $map: { input: [1, 2], as: "o", in: { $map: { input: ["a"], in: ["$$o", "$$this"] } } } };
    expect(run(expr)).toEqual([[[1, "a"]], [[2, "a"]]]);
  });

  it("does not leak the variable to the caller's scope", () => {
    const vars = {};
    compileExpression({ $map: { input: [1], in: "$$this" } })({}, vars);
    expect(vars).toEqual({});
  });

  it("$filter applies aggregation truthiness and an optional limit", () => {
    expect(run({ $filter: { input: [0, 1, null, "", [], false, 2], cond: "$$this" } })).toEqual([
      1,
      "",
      [],
      2,
    ]);
    expect(run({ $filter: { input: [1, 2, 3], as: "n", cond: true, limit: 2 } })).toEqual([1, 2]);
    expect(run({ $filter: { input: [1, 2, 3], cond: true, limit: null } })).toEqual([1, 2, 3]);
    expect(fails({ $filter: { input: [1], cond: true, limit: 0 } })).toThrow("limit must be greater than 0");
    expect(fails({ $filter: { input: "x", cond: true } })).toThrow(
      "input to $filter must be an array not string",
    );
  });

  it("$reduce threads $$value through $$this", () => {
    const concat = {
      $reduce: { input: [[1], [2, 3]], initialValue: [0], in: { $concatArrays: ["$$value", "$$this"] } },
    };
    expect(run(concat)).toEqual([0, 1, 2, 3]);
    expect(run({ $reduce: { input: [], initialValue: "seed", in: "$$this" } })).toBe("seed");
    expect(run({ $reduce: { input: null, initialValue: 0, in: "$$this" } })).toBeNull();
  });

  it("rejects undefined variables and bad specs at compile time", () => {
    expect(fails({ $map: { input: [1], as: "x", in: "$$y" } })).toThrow(MqlCompileError);
    expect(fails({ $map: { input: [1], in: "$$this", extra: 1 } })).toThrow("unknown argument 'extra'");
    expect(fails({ $filter: { input: [1] } })).toThrow("missing required argument 'cond'");
    expect(fails({ $map: { input: [1], as: "Bad", in: 1 } })).toThrow("not a valid variable name");
  });
});

describe("element access", () => {
  it("$size counts and insists on an array", () => {
    expect(run({ $size: [[1, 2, 3]] })).toBe(3);
    const e = (() => {
      try {
        run({ $size: "$nope" });
      } catch (err) {
        return err as MqlRuntimeError;
      }
    })();
    expect(e).toBeInstanceOf(MqlRuntimeError);
    expect(e?.message).toBe("The argument to $size must be an array. Type of value was: missing");
    expect(e?.code).toBe(17124);
  });

  it("$arrayElemAt supports negative indexes, is missing out of range, null for null inputs", () => {
    expect(run({ $arrayElemAt: [[1, 2, 3], -1] })).toBe(3);
    expect(run({ $arrayElemAt: [[1, 2, 3], Long.fromNumber(1)] })).toBe(2);
    expect(run({ $arrayElemAt: [[1, 2, 3], 3] })).toBeUndefined();
    expect(run({ $arrayElemAt: [[1, 2, 3], -4] })).toBeUndefined();
    expect(run({ $arrayElemAt: ["$missing", 0] })).toBeNull();
    expect(fails({ $arrayElemAt: [[1], 1.5] })).toThrow("representable as a 32-bit integer");
    expect(fails({ $arrayElemAt: [[1], "0"] })).toThrow("must be a numeric value, but is string");
  });

  it("$first/$last: missing for an empty array, null for null or missing", () => {
    expect(run({ $first: [[4, 5]] })).toBe(4);
    expect(run({ $last: [[4, 5]] })).toBe(5);
    expect(run({ $first: [[]] })).toBeUndefined();
    expect(run({ $last: "$missing" })).toBeNull();
    expect(fails({ $last: "x" })).toThrow("$last's argument must be an array, but is string");
  });

  it("$in uses MongoDB equality and requires an array", () => {
    expect(run({ $in: [1, [Long.fromNumber(1)]] })).toBe(true);
    expect(run({ $in: [Decimal128.fromString("2.0"), [1, 2]] })).toBe(true);
    expect(run({ $in: [{ a: 1 }, [{ a: 1 }]] })).toBe(true);
    expect(run({ $in: ["1", [1]] })).toBe(false);
    expect(fails({ $in: [1, "$missing"] })).toThrow(
      "$in requires an array as a second argument, found: missing",
    );
  });

  it("$indexOfArray honours start and end, and -1 when not found", () => {
    expect(run({ $indexOfArray: [[1, 2, 1], 1] })).toBe(0);
    expect(run({ $indexOfArray: [[1, 2, 1], 1, 1] })).toBe(2);
    expect(run({ $indexOfArray: [[1, 2, 1], 1, 1, 2] })).toBe(-1);
    expect(run({ $indexOfArray: [[1, 2, 1], 1, 5] })).toBe(-1);
    expect(run({ $indexOfArray: [[1, 2, 1], 1, 2, 1] })).toBe(-1);
    expect(run({ $indexOfArray: [null, 1] })).toBeNull();
    expect(fails({ $indexOfArray: [[1], 1, -1] })).toThrow("nonnegative starting index");
    expect(fails({ $indexOfArray: [[1], 1, 0.5] })).toThrow("integral starting index");
  });

  it("$isArray", () => {
    expect(run({ $isArray: [[]] })).toBe(true);
    expect(run({ $isArray: "$a" }, { a: "x" })).toBe(false);
    expect(fails({ $isArray: [1, 2] })).toThrow("expects 1 argument, got 2");
  });
});

describe("building arrays", () => {
  it("$concatArrays is null when any input is nullish", () => {
    expect(run({ $concatArrays: [[1], [[2]], []] })).toEqual([1, [2]]);
    expect(run({ $concatArrays: [[1], "$missing"] })).toBeNull();
    expect(fails({ $concatArrays: [[1], 2] })).toThrow("$concatArrays only supports arrays, not int");
  });

  it("$slice with two arguments takes from the front or, negative, from the back", () => {
    const a = [1, 2, 3, 4, 5];
    expect(run({ $slice: [a, 2] })).toEqual([1, 2]);
    expect(run({ $slice: [a, -2] })).toEqual([4, 5]);
    expect(run({ $slice: [a, -10] })).toEqual(a);
    expect(run({ $slice: [a, 0] })).toEqual([]);
  });

  it("$slice with a position counts negative positions from the end and clamps", () => {
    const a = [1, 2, 3, 4, 5];
    expect(run({ $slice: [a, 1, 2] })).toEqual([2, 3]);
    expect(run({ $slice: [a, -2, 10] })).toEqual([4, 5]);
    expect(run({ $slice: [a, -10, 2] })).toEqual([1, 2]);
    expect(run({ $slice: [a, 10, 2] })).toEqual([]);
    expect(run({ $slice: [null, 1, 2] })).toBeNull();
    expect(fails({ $slice: [a, 1, 0] })).toThrow("Third argument to $slice must be positive: 0");
    expect(fails({ $slice: [a, 1, -1] })).toThrow("must be positive");
    expect(fails({ $slice: [a, "1"] })).toThrow("Second argument to $slice must be numeric");
    expect(fails({ $slice: [a] })).toThrow("expects 2 to 3 arguments, got 1");
  });

  it("$reverseArray", () => {
    expect(run({ $reverseArray: [[1, [2], 3]] })).toEqual([3, [2], 1]);
    expect(run({ $reverseArray: "$missing" })).toBeNull();
  });

  it("$range steps up, down, and yields [] when the step points away", () => {
    expect(run({ $range: [0, 5] })).toEqual([0, 1, 2, 3, 4]);
    expect(run({ $range: [0, 10, 4] })).toEqual([0, 4, 8]);
    expect(run({ $range: [5, -1, -2] })).toEqual([5, 3, 1]);
    expect(run({ $range: [0, 5, -1] })).toEqual([]);
    expect(run({ $range: [Long.fromNumber(1), 3] })).toEqual([1, 2]);
    expect(fails({ $range: [0, 5, 0] })).toThrow("$range requires a non-zero step value");
    expect(fails({ $range: [0.5, 5] })).toThrow("32-bit integer");
    expect(fails({ $range: ["0", 5] })).toThrow(
      "$range requires a numeric starting value, found value of type: string",
    );
  });

  it("$zip truncates to the shortest, or pads the longest with null or defaults", () => {
    expect(
      run({
        $zip: {
          inputs: [
            [1, 2, 3],
            ["a", "b"],
          ],
        },
      }),
    ).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    expect(run({ $zip: { inputs: [[1, 2, 3], ["a"]], useLongestLength: true } })).toEqual([
      [1, "a"],
      [2, null],
      [3, null],
    ]);
    expect(run({ $zip: { inputs: [[1, null], []], useLongestLength: true, defaults: [0, "d"] } })).toEqual([
      [1, "d"],
      [null, "d"],
    ]);
    expect(run({ $zip: { inputs: [[1], "$missing"] } })).toBeNull();
    expect(fails({ $zip: { inputs: [[1], 2] } })).toThrow("$zip found a non-array expression in input: 2");
    expect(fails({ $zip: { inputs: [[1]], defaults: [0] } })).toThrow(
      "cannot specify defaults unless useLongestLength is true",
    );
    expect(fails({ $zip: { inputs: [[1]], useLongestLength: true, defaults: [0, 1] } })).toThrow(
      "same length",
    );
    expect(fails({ $zip: { inputs: "$a" } })).toThrow("inputs must be an array of expressions");
  });
});

describe("$sortArray", () => {
  it("sorts mixed types in BSON order: null < numbers < strings < objects < arrays < booleans < dates", () => {
    const input = [
      true,
      [1],
      { a: 1 },
      "b",
      2,
      null,
      new Date(0),
      Long.fromNumber(1),
      Decimal128.fromString("1.5"),
      "a",
    ];
    const sorted = run({ $sortArray: { input, sortBy: 1 } }) as unknown[];
    expect(sorted.map(String)).toEqual([
      "null",
      "1",
      "1.5",
      "2",
      "a",
      "b",
      "[object Object]",
      "1",
      "true",
      String(new Date(0)),
    ]);
    expect(sorted[7]).toEqual([1]);
    const desc = run({ $sortArray: { input: [1, "a", [0], NaN], sortBy: -1 } });
    expect(desc).toEqual([[0], "a", 1, NaN]);
  });

  it("sorts documents by several fields, missing fields as null, stably", () => {
    const input = [
      { n: "p", a: 2, b: 1 },
      { n: "q", a: 1, b: 2 },
      { n: "r", b: 0 },
      { n: "s", a: 1, b: 2 },
      { n: "t", a: 1, b: 3 },
    ];
    const sorted = run({ $sortArray: { input, sortBy: { a: 1, b: -1 } } }) as Doc[];
    expect(sorted.map((d) => d.n)).toEqual(["r", "t", "q", "s", "p"]);
    const byNested = run({ $sortArray: { input: [{ x: { y: 2 } }, { x: { y: 1 } }], sortBy: { "x.y": 1 } } });
    expect(byNested).toEqual([{ x: { y: 1 } }, { x: { y: 2 } }]);
  });

  it("sorts array-valued fields by their smallest element ascending and largest descending", () => {
    const input = [
      { n: 1, v: [5, 0] },
      { n: 2, v: 3 },
      { n: 3, v: [4] },
    ];
    expect((run({ $sortArray: { input, sortBy: { v: 1 } } }) as Doc[]).map((d) => d.n)).toEqual([1, 2, 3]);
    expect((run({ $sortArray: { input, sortBy: { v: -1 } } }) as Doc[]).map((d) => d.n)).toEqual([1, 3, 2]);
  });

  it("rejects bad sortBy at compile time and non-arrays per document", () => {
    expect(fails({ $sortArray: { input: [1], sortBy: 2 } })).toThrow(MqlCompileError);
    expect(fails({ $sortArray: { input: [1], sortBy: { a: 0 } } })).toThrow("e.$sortArray.sortBy");
    expect(fails({ $sortArray: { input: "x", sortBy: 1 } })).toThrow(
      "$sortArray requires an array as input, found: string",
    );
    expect(run({ $sortArray: { input: null, sortBy: 1 } })).toBeNull();
  });
});

describe("objects and arrays", () => {
  it("$arrayToObject accepts [k, v] pairs and {k, v} documents; later keys win", () => {
    expect(
      run({
        $arrayToObject: [
          [
            ["a", 1],
            ["b", 2],
            ["a", 3],
          ],
        ],
      }),
    ).toEqual({ a: 3, b: 2 });
    expect(run({ $arrayToObject: { $literal: [{ k: "x", v: [1] }] } })).toEqual({ x: [1] });
    expect(run({ $arrayToObject: [[]] })).toEqual({});
    expect(run({ $arrayToObject: "$missing" })).toBeNull();
    expect(fails({ $arrayToObject: [[["a", 1, 2]]] })).toThrow("size 2 arrays");
    expect(fails({ $arrayToObject: [[[1, 1]]] })).toThrow(
      "the key must be of type string. Found key type: int",
    );
    expect(fails({ $arrayToObject: { $literal: [["a", 1], { k: "b", v: 2 }] } })).toThrow(
      "consistent input format",
    );
    expect(fails({ $arrayToObject: { $literal: [{ k: "a" }] } })).toThrow("Found incorrect number of keys:1");
    expect(fails({ $arrayToObject: [[5]] })).toThrow(
      "Unrecognised input type format for $arrayToObject: int",
    );
  });

  it("$objectToArray lists fields in order", () => {
    expect(run({ $objectToArray: "$o" }, { o: { b: 1, a: { c: 2 } } })).toEqual([
      { k: "b", v: 1 },
      { k: "a", v: { c: 2 } },
    ]);
    expect(run({ $objectToArray: "$missing" })).toBeNull();
    expect(fails({ $objectToArray: [[1]] })).toThrow(
      "$objectToArray requires a document input, found: array",
    );
  });
});

describe("accumulators as array expressions", () => {
  it("fold one array argument, or several arguments without traversing arrays", () => {
    expect(run({ $sum: [[1, 2, "x", Long.fromNumber(3)]] })).toEqual(Long.fromNumber(6));
    expect(run({ $sum: [1, [2, 3], 4] })).toBe(5);
    expect(run({ $sum: "$missing" })).toBe(0);
    expect(run({ $avg: [[]] })).toBeNull();
    expect(run({ $avg: [1, 2, null] })).toBe(1.5);
    expect(run({ $max: [[1, "a", null]] })).toBe("a");
    expect(run({ $min: [3, [0], null] })).toBe(3);
    expect(run({ $max: [3, [0], null] })).toEqual([0]);
    expect(run({ $min: [[null]] })).toBeNull();
    expect(run({ $stdDevPop: [[1, 3]] })).toBe(1);
    expect(run({ $stdDevSamp: [[1]] })).toBeNull();
    expect(run({ $stdDevPop: [["a"]] })).toBeNull();
  });

  it("$median and $percentile take {input, p, method}", () => {
    expect(run({ $median: { input: [5, 1, 3, "x"], method: "approximate" } })).toBe(3);
    expect(
      run({ $percentile: { input: "$xs", p: [0.25, 1], method: "approximate" } }, { xs: [4, 3, 2, 1] }),
    ).toEqual([1, 4]);
    expect(run({ $percentile: { input: 7, p: [0.5], method: "approximate" } })).toEqual([7]);
    expect(fails({ $percentile: { input: [1], p: 0.5, method: "approximate" } })).toThrow(
      "'p' must be a non-empty array",
    );
  });

  it("$firstN/$lastN/$maxN/$minN take {n, input} with n evaluated per document", () => {
    const doc = { xs: [3, null, 1, 4, 1, 5], n: 2 };
    expect(run({ $firstN: { n: "$n", input: "$xs" } }, doc)).toEqual([3, null]);
    expect(run({ $lastN: { n: 3, input: "$xs" } }, doc)).toEqual([4, 1, 5]);
    expect(run({ $maxN: { n: "$n", input: "$xs" } }, doc)).toEqual([5, 4]);
    expect(run({ $minN: { n: 10, input: "$xs" } }, doc)).toEqual([1, 1, 3, 4, 5]);
    expect(run({ $firstN: { n: 2, input: "$missing" } })).toBeNull();
    expect(fails({ $firstN: { n: 0, input: [1] } })).toThrow("'n' must be greater than 0");
    expect(fails({ $lastN: { n: "$missing", input: [1] } })).toThrow("must be of integral type");
    expect(fails({ $maxN: { n: 1, input: "x" } })).toThrow(MqlRuntimeError);
  });
});
