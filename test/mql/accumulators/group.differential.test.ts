import fc from "fast-check";
import { Aggregator } from "mingo";
import { describe, expect, it } from "vitest";
import { compileGroup } from "../../../src/mql/accumulators/group.ts";
import { compareValues } from "../../../src/mql/compare.ts";
import { groupKeyOf } from "../../../src/mql/group-key.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { runGroup } from "./run-group.ts";

/**
 * Scalars mingo and Eddy both model (no bson classes). No NaN: mingo skips it in $sum/$min, MongoDB does not
 * (hand-written tests cover NaN).
 */
const scalar = fc.oneof(
  fc.integer({ min: -50, max: 50 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  fc.constantFrom(0.5, -0.5, 1.5),
  fc.string({ maxLength: 3 }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof(
  { weight: 5, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom("a", "b", "c"), scalar, { maxKeys: 2, noNullPrototype: true }),
  },
);
/** Integers and binary fractions (no denormals, where mingo's percentile misbehaves). */
const numeric = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer({ min: -8000, max: 8000 }).map((i) => i / 8),
);

/**
 * Documents with a small group key `k`, a unique `seq`, a value `v` (sometimes missing), the same value `w`
 * never missing (null instead) and a number `x`.
 */
function docs(v: fc.Arbitrary<unknown>): fc.Arbitrary<Doc[]> {
  const row = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.option(v, { nil: undefined, freq: 5 }), numeric);
  return fc.array(row, { maxLength: 30 }).map((rows) =>
    rows.map(([k, vv, x], seq) => {
      const doc: Doc = { k, seq, x, w: vv ?? null };
      if (vv !== undefined) doc.v = vv;
      return doc;
    }),
  );
}

function mingoGroup(spec: Doc, input: readonly Doc[]): Doc[] {
  return new Aggregator([{ $group: spec }]).run(input.map((d) => structuredClone(d))) as Doc[];
}

function byId(rows: readonly Doc[]): Map<string, Doc> {
  return new Map(rows.map((row) => [groupKeyOf(row._id), row]));
}

/** Deep equality with a relative tolerance for doubles (summation orders differ). */
function close(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => close(x, b[i]));
  return compareValues(a, b) === 0;
}

type Normalise = (field: string, v: unknown, side: "eddy" | "mingo") => unknown;

function expectSameGroups(spec: Doc, input: readonly Doc[], normalise: Normalise = (_f, v) => v): void {
  const mine = byId(runGroup(compileGroup(spec), input));
  const theirs = byId(mingoGroup(spec, input));
  expect([...mine.keys()].sort()).toEqual([...theirs.keys()].sort());
  for (const [key, row] of mine) {
    const other = theirs.get(key)!;
    for (const field of Object.keys(spec)) {
      if (field === "_id") continue;
      const a = normalise(field, row[field], "eddy");
      const b = normalise(field, other[field], "mingo");
      if (!close(a, b)) expect({ field, eddy: a, input }).toEqual({ field, eddy: b, input });
    }
  }
}

const sortedSet = (v: unknown): unknown => (Array.isArray(v) ? [...v].sort(compareValues) : v);
const RUNS = { numRuns: 300 };

describe("$group against mingo", () => {
  it("$sum $avg $count $first $last $push over mixed values", () => {
    // $push reads `w`: mingo pushes null for a missing value, MongoDB skips it (see the differences doc).
    const spec = {
      _id: "$k",
      sum: { $sum: "$v" },
      avg: { $avg: "$v" },
      count: { $count: {} },
      first: { $first: "$v" },
      last: { $last: "$v" },
      push: { $push: "$w" },
    };
    fc.assert(
      fc.property(docs(value), (input) => expectSameGroups(spec, input)),
      RUNS,
    );
  });

  it("$min $max $maxN $minN over scalars", () => {
    // Over documents and arrays mingo's order is not BSON order; those cases are hand-written tests.
    const spec = {
      _id: "$k",
      min: { $min: "$v" },
      max: { $max: "$v" },
      maxN: { $maxN: { n: 2, input: "$v" } },
      minN: { $minN: { n: 3, input: "$v" } },
    };
    fc.assert(
      fc.property(docs(scalar), (input) => expectSameGroups(spec, input)),
      RUNS,
    );
  });

  it("$addToSet (as a set) and $mergeObjects", () => {
    const spec = { _id: "$k", set: { $addToSet: "$w" }, merged: { $mergeObjects: "$o" } };
    const withObjects = docs(value).chain((rows) =>
      fc
        .array(
          fc.option(
            fc.dictionary(fc.constantFrom("a", "b", "c"), scalar, { maxKeys: 2, noNullPrototype: true }),
            { nil: null },
          ),
          {
            minLength: rows.length,
            maxLength: rows.length,
          },
        )
        .map((objs) => rows.map((row, i) => ({ ...row, o: objs[i] }))),
    );
    fc.assert(
      fc.property(withObjects, (input) =>
        expectSameGroups(spec, input, (f, v) => (f === "set" ? sortedSet(v) : v)),
      ),
      RUNS,
    );
  });

  it("$stdDevPop $stdDevSamp over numbers", () => {
    // $median/$percentile are not compared: mingo sorts their inputs as strings ("100" < "99").
    const spec = { _id: "$k", pop: { $stdDevPop: "$x" }, samp: { $stdDevSamp: "$x" } };
    // mingo returns 0 for $stdDevSamp of a single value; MongoDB returns null (see the differences doc).
    const atLeastTwoPerKey = docs(value).map((rows) => [
      ...rows,
      ...rows.map((r) => ({ ...r, seq: (r.seq as number) + 1000, x: (r.x as number) + 1 })),
    ]);
    fc.assert(
      fc.property(atLeastTwoPerKey, (input) => expectSameGroups(spec, input)),
      RUNS,
    );
  });

  it("$topN $bottomN $top $bottom with a unique tie-breaker", () => {
    const spec = {
      _id: "$k",
      top: { $top: { sortBy: { v: 1, seq: 1 }, output: ["$w", "$seq"] } },
      bottom: { $bottom: { sortBy: { v: -1, seq: 1 }, output: "$seq" } },
      topN: { $topN: { n: 3, sortBy: { v: -1, seq: -1 }, output: "$seq" } },
      bottomN: { $bottomN: { n: 2, sortBy: { v: 1, seq: 1 }, output: { s: "$seq" } } },
    };
    // mingo wraps the single output of $top/$bottom in an array; MongoDB returns it bare.
    const unwrap: Normalise = (field, v, side) =>
      side === "mingo" && (field === "top" || field === "bottom") ? (v as unknown[])[0] : v;
    fc.assert(
      fc.property(docs(scalar), (input) => expectSameGroups(spec, input, unwrap)),
      RUNS,
    );
  });

  it("$firstN $lastN", () => {
    const spec = {
      _id: "$k",
      firstN: { $firstN: { n: 2, input: "$v" } },
      lastN: { $lastN: { n: 3, input: "$v" } },
    };
    fc.assert(
      fc.property(docs(value), (input) => expectSameGroups(spec, input)),
      RUNS,
    );
  });
});
