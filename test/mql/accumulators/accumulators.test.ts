import fc from "fast-check";
import { Decimal128, Long } from "bson";
import { describe, expect, it } from "vitest";
import { addToSetSpec, mergeObjectsSpec, pushSpec } from "../../../src/mql/accumulators/collect.ts";
import { firstSpec, lastSpec } from "../../../src/mql/accumulators/first-last.ts";
import { compileGroup } from "../../../src/mql/accumulators/group.ts";
import { maxSpec, minSpec } from "../../../src/mql/accumulators/min-max.ts";
import { maxNSpec, minNSpec } from "../../../src/mql/accumulators/n-family.ts";
import { medianSpec, percentileSpec } from "../../../src/mql/accumulators/percentile.ts";
import { stdDevPopSpec, stdDevSampSpec } from "../../../src/mql/accumulators/std-dev.ts";
import { avgSpec, sumSpec } from "../../../src/mql/accumulators/sum-avg.ts";
import { opaqueSpec, type AccumulatorSpec } from "../../../src/mql/accumulators/types.ts";
import { compareValues } from "../../../src/mql/compare.ts";
import { MqlCompileError, MqlRuntimeError } from "../../../src/mql/errors.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { runGroup } from "./run-group.ts";

function fold<S>(spec: AccumulatorSpec<S>, values: readonly unknown[]): S {
  let state = spec.init();
  for (const v of values) state = spec.add(state, v);
  return state;
}

const over = <S>(spec: AccumulatorSpec<S>, values: readonly unknown[]): unknown =>
  spec.result(fold(spec, values));

describe("$sum and $avg", () => {
  it("add mixed numeric types with MongoDB's widening", () => {
    expect(over(sumSpec, [1, 2, 3])).toBe(6);
    expect(over(sumSpec, [1, 1.5])).toBe(2.5);
    const long = over(sumSpec, [1, Long.fromNumber(2)]);
    expect(long).toBeInstanceOf(Long);
    expect(String(long)).toBe("3");
    const dec = over(sumSpec, [Decimal128.fromString("0.1"), 0.2, Long.fromNumber(1)]);
    expect(dec).toBeInstanceOf(Decimal128);
    expect(String(dec)).toBe("1.3");
  });

  it("ignore non-numeric values; the empty sum is 0 and the empty average null", () => {
    expect(over(sumSpec, ["5", null, undefined, true, [1, 2], { a: 1 }])).toBe(0);
    expect(over(sumSpec, [])).toBe(0);
    expect(over(avgSpec, ["5", null, true])).toBeNull();
    expect(over(avgSpec, [])).toBeNull();
    expect(over(avgSpec, [1, "x", 2])).toBe(1.5);
  });

  it("propagate NaN and infinities", () => {
    expect(over(sumSpec, [1, NaN])).toBeNaN();
    expect(over(avgSpec, [Infinity, 1])).toBe(Infinity);
    expect(over(sumSpec, [Infinity, -Infinity])).toBeNaN();
  });

  it("average Longs as a double and Decimal128 as Decimal128", () => {
    expect(over(avgSpec, [Long.fromNumber(1), Long.fromNumber(2)])).toBe(1.5);
    const dec = over(avgSpec, [Decimal128.fromString("1"), 2]);
    expect(dec).toBeInstanceOf(Decimal128);
    expect(String(dec)).toBe("1.5");
  });
});

describe("$min and $max", () => {
  it("ignore null and missing, and return null when nothing else came", () => {
    expect(over(minSpec, [null, 3, undefined, 1])).toBe(1);
    expect(over(maxSpec, [null, undefined])).toBeNull();
    expect(over(minSpec, [])).toBeNull();
  });

  it("compare across types in BSON order", () => {
    expect(over(maxSpec, [5, "a", { z: 1 }])).toEqual({ z: 1 });
    expect(over(maxSpec, [{ z: 1 }, [0]])).toEqual([0]);
    expect(over(minSpec, [5, "a", new Date(0)])).toBe(5);
    expect(over(minSpec, [1, NaN, -Infinity])).toBeNaN();
    expect(String(over(maxSpec, [1, Long.fromString("9007199254740993"), 9007199254740992]))).toBe(
      "9007199254740993",
    );
  });

  it("pick the same value as BSON order on numbers, NaN, ±0 and mixed values (the number fast path)", () => {
    const item = fc.oneof(
      fc.double(),
      fc.constantFrom<unknown>(0, -0, NaN, Infinity, -Infinity, null, undefined, "a", Long.fromNumber(2)),
    );
    /** The extreme by `compareValues`, the first of equals kept (what the fast path must agree with). */
    const reference = (values: readonly unknown[], sign: 1 | -1): unknown => {
      let best: unknown;
      for (const v of values) {
        if (v === null || v === undefined) continue;
        if (best === undefined || compareValues(v, best) * sign > 0) best = v;
      }
      return best === undefined ? null : best;
    };
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), (values) => {
        expect(Object.is(over(maxSpec, values), reference(values, 1))).toBe(true);
        expect(Object.is(over(minSpec, values), reference(values, -1))).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(Object.is(over(maxSpec, [-0, 0]), -0)).toBe(true);
    expect(Object.is(over(minSpec, [0, -0]), 0)).toBe(true);
  });
});

describe("$first, $last, $push, $addToSet, $mergeObjects", () => {
  it("$first/$last keep a missing value as null", () => {
    expect(over(firstSpec, [undefined, 1])).toBeNull();
    expect(over(lastSpec, [1, undefined])).toBeNull();
    expect(over(firstSpec, [])).toBeNull();
  });

  it("$push skips missing values but keeps null", () => {
    expect(over(pushSpec, [1, undefined, null, [2]])).toEqual([1, null, [2]]);
  });

  it("$addToSet uses BSON equality: 1, 1.0, Long(1), Decimal128('1.0') are one value; field order matters", () => {
    const result = over(addToSetSpec, [
      1,
      1.0,
      Long.fromNumber(1),
      Decimal128.fromString("1.0"),
      undefined,
    ]) as unknown[];
    expect(result).toEqual([1]);
    const docs = over(addToSetSpec, [
      { a: 1, b: 2 },
      { b: 2, a: 1 },
      { a: 1, b: 2 },
    ]) as unknown[];
    expect(docs).toHaveLength(2);
    expect(over(addToSetSpec, ["1", 1, null])).toHaveLength(3);
  });

  it("$mergeObjects ignores null and missing, later fields win, non-documents fail per document", () => {
    const spec = mergeObjectsSpec("$group.m.$mergeObjects");
    expect(over(spec, [{ a: 1, b: 1 }, null, undefined, { b: 2 }])).toEqual({ a: 1, b: 2 });
    expect(() => over(spec, [{ a: 1 }, 5])).toThrow(MqlRuntimeError);
    expect(() => over(spec, [{ a: 1 }, 5])).toThrow(
      "$mergeObjects requires object inputs, but input 5 is of type int",
    );
  });
});

describe("$stdDevPop and $stdDevSamp", () => {
  it("compute the population and sample deviations of numeric values", () => {
    const values = [2, 4, 4, 4, 5, 5, 7, 9, "x", null];
    expect(over(stdDevPopSpec, values)).toBeCloseTo(2, 12);
    expect(over(stdDevSampSpec, values)).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });

  it("return null without enough values", () => {
    expect(over(stdDevPopSpec, ["a"])).toBeNull();
    expect(over(stdDevPopSpec, [3])).toBe(0);
    expect(over(stdDevSampSpec, [3])).toBeNull();
    expect(over(stdDevSampSpec, [Long.fromNumber(1), Decimal128.fromString("3")])).toBeCloseTo(
      Math.SQRT2,
      12,
    );
  });

  it("stay accurate for large offsets (Welford)", () => {
    expect(over(stdDevPopSpec, [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16])).toBeCloseTo(4.743416490252569, 6);
  });
});

describe("$median and $percentile (exact)", () => {
  const tenToOne = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];

  it("return the data value at rank ceil(p·n) for approximate and discrete", () => {
    expect(over(percentileSpec([0, 0.5, 0.95, 1], "approximate"), tenToOne)).toEqual([1, 5, 10, 10]);
    expect(over(percentileSpec([0.1, 0.11], "discrete"), tenToOne)).toEqual([1, 2]);
    expect(over(medianSpec("approximate"), [3, "x", null, 1, 2])).toBe(2);
  });

  it("interpolate for continuous", () => {
    expect(over(medianSpec("continuous"), tenToOne)).toBe(5.5);
    expect(over(percentileSpec([0.25], "continuous"), [0, 10])).toEqual([2.5]);
  });

  it("return null for no numeric values", () => {
    expect(over(medianSpec("approximate"), ["a", null])).toBeNull();
    expect(over(percentileSpec([0.5, 0.9], "approximate"), [])).toEqual([null, null]);
  });
});

describe("merge(add(a), add(b)) equals add(a ∪ b)", () => {
  // Binary fractions keep double sums exact whatever the grouping.
  const num = fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.integer({ min: -800, max: 800 }).map((i) => i / 8),
  );
  const mixed = fc.oneof(
    num,
    fc.string({ maxLength: 2 }),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(num, { maxLength: 2 }),
  );
  const parts = <T>(arb: fc.Arbitrary<T>) =>
    fc.tuple(fc.array(arb, { maxLength: 20 }), fc.array(arb, { maxLength: 20 }));

  const cases: Array<[string, AccumulatorSpec, fc.Arbitrary<unknown>, (v: unknown) => unknown]> = [
    ["$sum", opaqueSpec(sumSpec), mixed, (v) => v],
    ["$avg", opaqueSpec(avgSpec), mixed, (v) => v],
    ["$min", opaqueSpec(minSpec), mixed, (v) => v],
    ["$max", opaqueSpec(maxSpec), mixed, (v) => v],
    ["$push", opaqueSpec(pushSpec), mixed, (v) => v],
    ["$addToSet", opaqueSpec(addToSetSpec), mixed, (v) => [...(v as unknown[])].sort(compareValues)],
    ["$maxN", opaqueSpec(maxNSpec(3)), mixed, (v) => v],
    ["$minN", opaqueSpec(minNSpec(2)), mixed, (v) => v],
    ["$percentile", opaqueSpec(percentileSpec([0, 0.3, 0.5, 1], "discrete")), mixed, (v) => v],
    [
      "$mergeObjects",
      opaqueSpec(mergeObjectsSpec("m")),
      fc.option(fc.dictionary(fc.constantFrom("a", "b"), num)),
      (v) => v,
    ],
  ];
  for (const [name, spec, arb, normalise] of cases) {
    it(name, () => {
      fc.assert(
        fc.property(parts(arb), ([a, b]) => {
          const merged = spec.result(spec.merge!(fold(spec, a), fold(spec, b)));
          expect(normalise(merged)).toEqual(normalise(spec.result(fold(spec, [...a, ...b]))));
        }),
        { numRuns: 300 },
      );
    });
  }

  it("$stdDevPop / $stdDevSamp (within rounding)", () => {
    fc.assert(
      fc.property(parts(num), ([a, b]) => {
        for (const spec of [stdDevPopSpec, stdDevSampSpec]) {
          const merged = spec.result(spec.merge!(fold(spec, a), fold(spec, b)));
          const whole = spec.result(fold(spec, [...a, ...b]));
          if (whole === null) expect(merged).toBeNull();
          else expect(merged as number).toBeCloseTo(whole as number, 6);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("state size", () => {
  it("keeps $avg, $min, $max and $count under 200 bytes per key however many numbers arrive", () => {
    const group = compileGroup({
      _id: "$k",
      avg: { $avg: "$x" },
      min: { $min: "$x" },
      max: { $max: "$x" },
      count: { $count: {} },
    });
    const states = group.accumulators.map((a) => a.spec.init());
    for (let i = 0; i < 10_000; i++) {
      const doc = { k: 1, x: (i * 7919) % 1000.5 };
      group.accumulators.forEach((a, j) => {
        states[j] = a.spec.add(states[j], a.argument(doc, {}));
      });
    }
    const total = group.accumulators.reduce((sum, a, j) => sum + a.spec.stateSize(states[j]), 0);
    expect(total).toBeLessThan(200);
  });

  it("grows with the values $push holds", () => {
    const small = pushSpec.stateSize(fold(pushSpec, [1]));
    const large = pushSpec.stateSize(fold(pushSpec, ["x".repeat(1000)]));
    expect(large).toBeGreaterThan(small + 1000);
  });
});

describe("compileGroup", () => {
  const docs: Doc[] = [
    { k: "a", x: 3, name: "p" },
    { k: "b", x: 1, name: "q" },
    { k: "a", x: 5, name: "r" },
    { k: "a", x: 4, name: "s" },
    { x: 9, name: "t" },
    { k: null, x: 8, name: "u" },
  ];

  it("groups null and missing keys together and numerically equal keys together", () => {
    const rows = runGroup(compileGroup({ _id: "$k", n: { $count: {} } }), docs);
    expect(rows).toEqual([
      { _id: "a", n: 3 },
      { _id: "b", n: 1 },
      { _id: null, n: 2 },
    ]);
    const numeric = runGroup(compileGroup({ _id: "$v", n: { $sum: 1 } }), [
      { v: 1 },
      { v: Long.fromNumber(1) },
      { v: 1.0 },
      { v: "1" },
    ]);
    expect(numeric.map((r) => r.n)).toEqual([3, 1]);
  });

  it("runs $top/$bottom/$topN/$bottomN/$firstN/$lastN/$maxN/$minN", () => {
    const [a] = runGroup(
      compileGroup({
        _id: "$k",
        top: { $top: { sortBy: { x: -1 }, output: "$name" } },
        bottom: { $bottom: { sortBy: { x: -1 }, output: ["$name", "$x"] } },
        topN: { $topN: { n: 2, sortBy: { x: 1 }, output: "$name" } },
        bottomN: { $bottomN: { n: 2, sortBy: { x: 1 }, output: "$name" } },
        firstN: { $firstN: { n: 2, input: "$name" } },
        lastN: { $lastN: { n: 2, input: "$missing" } },
        maxN: { $maxN: { n: 2, input: "$x" } },
        minN: { $minN: { n: 5, input: "$x" } },
      }),
      docs,
    );
    expect(a).toEqual({
      _id: "a",
      top: "r",
      bottom: ["p", 3],
      topN: ["p", "s"],
      bottomN: ["s", "r"],
      firstN: ["p", "r"],
      lastN: [null, null],
      maxN: [5, 4],
      minN: [3, 4, 5],
    });
  });

  it("sorts a missing sortBy field as null, before numbers", () => {
    const [row] = runGroup(
      compileGroup({ _id: null, t: { $topN: { n: 2, sortBy: { x: 1 }, output: "$name" } } }),
      [{ x: 1, name: "one" }, { name: "none" }, { x: null, name: "null" }],
    );
    expect(row.t).toEqual(["none", "null"]);
  });

  it("rejects malformed specifications with the offending path", () => {
    const path = "pipeline[3].$tumblingWindow.pipeline[0].$group";
    const compile = (spec: unknown) => () => compileGroup(spec, { path });
    expect(compile({ avg: { $avgg: "$x" }, _id: null })).toThrow(
      `${path}.avg.$avgg: unknown group operator '$avgg'`,
    );
    expect(compile({ n: { $sum: 1 } })).toThrow(`${path}: a group specification must include an _id`);
    expect(compile({ _id: null, "a.b": { $sum: 1 } })).toThrow(
      `${path}.a.b: the group aggregate field name 'a.b' cannot contain '.'`,
    );
    expect(compile({ _id: null, a: { $sum: 1, $avg: 1 } })).toThrow(MqlCompileError);
    expect(compile({ _id: null, a: 1 })).toThrow(
      `${path}.a: the group aggregate field 'a' must be defined as an expression inside an object`,
    );
    expect(compile({ _id: null, a: { $count: 1 } })).toThrow("$count takes no arguments");
    expect(compile({ _id: null, a: { $sum: ["$x"] } })).toThrow(
      `${path}.a.$sum: the $sum accumulator is a unary operator`,
    );
    expect(compile({ _id: null, a: { $firstN: { n: 0, input: "$x" } } })).toThrow(
      `${path}.a.$firstN.n: 'n' must be greater than 0, found 0`,
    );
    expect(compile({ _id: null, a: { $maxN: { n: 1.5, input: "$x" } } })).toThrow("must be of integral type");
    expect(compile({ _id: null, a: { $topN: { n: 2, sortBy: { x: 2 }, output: "$x" } } })).toThrow(
      `${path}.a.$topN.sortBy`,
    );
    expect(compile({ _id: null, a: { $top: { sortBy: { x: 1 } } } })).toThrow(
      "missing required argument 'output'",
    );
    expect(
      compile({ _id: null, a: { $percentile: { input: "$x", p: [1.5], method: "approximate" } } }),
    ).toThrow(`${path}.a.$percentile.p[0]`);
    expect(compile({ _id: null, a: { $median: { input: "$x", method: "exact" } } })).toThrow(
      "method must be one of",
    );
    expect(compile({ _id: "$$nope" })).toThrow("Use of undefined variable: nope");
  });
});
