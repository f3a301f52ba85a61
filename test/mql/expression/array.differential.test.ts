import fc from "fast-check";
import { aggregate } from "mingo";
import { describe, expect, it } from "vitest";
import { compileExpression } from "../../../src/mql/expression/compile.ts";
import type { Doc, Evaluator } from "../../../src/mql/types.ts";

/** Values mingo models like MongoDB: no NaN (mingo mis-orders it), no bson classes. */
const scalar = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(0.5, -2.5, 1e6),
  fc.constantFrom("", "a", "b", "ab"),
  fc.boolean(),
  fc.constant(null),
);
const array = fc.array(scalar, { maxLength: 6 });
/** mingo mishandles empty arrays in $zip and $first/$last of a field (see the differences doc). */
const nonEmpty = fc.array(scalar, { minLength: 1, maxLength: 6 });
const nested = fc.array(fc.oneof(scalar, array), { maxLength: 5 });
const small = fc.integer({ min: -8, max: 8 });

type Outcome = { value?: unknown; error?: string };

const compiled = new Map<string, Evaluator>();

function mine(expr: unknown, doc: Doc): Outcome {
  try {
    const key = JSON.stringify(expr);
    let evaluate = compiled.get(key);
    if (!evaluate) compiled.set(key, (evaluate = compileExpression(expr)));
    return { value: evaluate(doc, {}) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** mingo's results for several expressions over one document: one `$project` when none fails (fast). */
function theirs(exprs: readonly unknown[], doc: Doc): Outcome[] {
  const project = (list: readonly unknown[]): Doc => {
    const spec: Doc = { _id: 0 };
    list.forEach((expr, i) => (spec[`e${i}`] = expr));
    return (aggregate([structuredClone(doc)], [{ $project: spec }]) as Doc[])[0];
  };
  try {
    const row = project(exprs);
    return exprs.map((_e, i) => ({ value: row[`e${i}`] }));
  } catch {
    return exprs.map((expr) => {
      try {
        return { value: project([expr]).e0 };
      } catch (e) {
        return { error: (e as Error).message };
      }
    });
  }
}

/** For each expression: both succeed with equal results (doubles within 1e-12 relative), or both fail. */
function expectAgree(exprs: unknown | readonly unknown[], doc: Doc): void {
  const list = Array.isArray(exprs) ? exprs : [exprs];
  const expected = theirs(list, doc);
  list.forEach((expr, i) => {
    const a = mine(expr, doc);
    const b = expected[i];
    if ("error" in a || "error" in b) {
      expect({ expr, doc, failed: "error" in a }).toEqual({ expr, doc, failed: "error" in b });
    } else if (typeof a.value === "number" && typeof b.value === "number" && Number.isFinite(b.value)) {
      expect(a.value).toBeCloseTo(b.value, 9);
    } else {
      expect({ expr, doc, value: a.value }).toEqual({ expr, doc, value: b.value });
    }
  });
}

const RUNS = { numRuns: 200 };

describe("array operators against mingo", () => {
  it("$size $isArray $reverseArray $concatArrays $first $last $arrayElemAt", () => {
    fc.assert(
      fc.property(nonEmpty, array, small, (a, b, i) => {
        const doc = { a, b, i };
        expectAgree(
          [
            { $size: "$a" },
            { $isArray: "$a" },
            { $reverseArray: "$a" },
            { $concatArrays: ["$a", "$b", [1]] },
            { $first: "$a" },
            { $last: "$a" },
            { $arrayElemAt: ["$a", "$i"] },
          ],
          doc,
        );
      }),
      RUNS,
    );
  });

  it("$slice in both forms, including negative positions and counts", () => {
    fc.assert(
      fc.property(array, small, fc.integer({ min: 1, max: 8 }), (a, p, n) => {
        expectAgree([{ $slice: ["$a", p] }, { $slice: ["$a", p, n] }], { a });
      }),
      RUNS,
    );
  });

  it("$in $indexOfArray", () => {
    fc.assert(
      fc.property(array, scalar, (a, x) => {
        expectAgree([{ $in: [{ $literal: x }, "$a"] }, { $indexOfArray: ["$a", { $literal: x }] }], { a });
        // The start/end forms are hand-written tests: mingo returns matches before the start index.
      }),
      RUNS,
    );
  });

  it("$range with any step sign", () => {
    fc.assert(
      fc.property(
        small,
        small,
        small.filter((s) => s !== 0),
        (start, end, step) => {
          expectAgree([{ $range: [start, end, step] }, { $range: [start, end] }], {});
        },
      ),
      RUNS,
    );
  });

  it("$sortArray over mixed scalar types, ascending and descending", () => {
    // mingo does not put arrays after scalars; nested arrays are covered by hand-written tests.
    fc.assert(
      fc.property(array, fc.constantFrom(1, -1), (a, dir) => {
        expectAgree({ $sortArray: { input: "$a", sortBy: dir } }, { a });
      }),
      RUNS,
    );
  });

  it("$sortArray of documents by a field", () => {
    const docs = fc.array(fc.record({ x: fc.integer({ min: 0, max: 3 }), y: fc.string({ maxLength: 2 }) }), {
      maxLength: 6,
    });
    fc.assert(
      fc.property(docs, fc.constantFrom(1, -1), (a, dir) => {
        expectAgree({ $sortArray: { input: "$a", sortBy: { x: dir, y: 1 } } }, { a });
      }),
      RUNS,
    );
  });

  it("$zip with and without useLongestLength and defaults", () => {
    // No nulls: mingo replaces a null element by the default; MongoDB only pads shorter arrays.
    const present = fc.array(
      scalar.filter((v) => v !== null),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(present, present, present, (a, b, c) => {
        const doc = { a, b, c };
        expectAgree(
          [
            { $zip: { inputs: ["$a", "$b", "$c"] } },
            { $zip: { inputs: ["$a", "$b"], useLongestLength: true } },
            { $zip: { inputs: ["$a", "$b"], useLongestLength: true, defaults: ["x", 0] } },
          ],
          doc,
        );
      }),
      RUNS,
    );
  });

  it("$map $filter $reduce", () => {
    fc.assert(
      fc.property(nested, fc.integer({ min: 1, max: 4 }), (a, limit) => {
        const doc = { a };
        expectAgree(
          [
            { $map: { input: "$a", as: "x", in: { $isArray: "$$x" } } },
            { $map: { input: "$a", in: ["$$this"] } },
            { $filter: { input: "$a", cond: "$$this" } },
            { $filter: { input: "$a", as: "e", cond: { $isArray: "$$e" }, limit } },
            { $reduce: { input: "$a", initialValue: [], in: { $concatArrays: [["$$this"], "$$value"] } } },
          ],
          doc,
        );
      }),
      RUNS,
    );
  });

  it("$objectToArray and $arrayToObject round trip", () => {
    const obj = fc.dictionary(fc.constantFrom("a", "b", "c"), scalar, { maxKeys: 3, noNullPrototype: true });
    const pairs = fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), scalar), { maxLength: 4 });
    fc.assert(
      fc.property(obj, pairs, (o, p) => {
        expectAgree([{ $objectToArray: "$o" }, { $arrayToObject: { $objectToArray: "$o" } }], { o });
        expectAgree({ $arrayToObject: "$p" }, { p });
      }),
      RUNS,
    );
  });

  it("$firstN $lastN $maxN $minN array forms and $sum $avg $min $max $stdDevPop over arrays", () => {
    const numbers = fc.array(fc.oneof(fc.integer({ min: -20, max: 20 }), fc.constantFrom(0.5, null, "s")), {
      maxLength: 6,
    });
    fc.assert(
      fc.property(array, numbers, fc.integer({ min: 1, max: 4 }), (a, xs, n) => {
        const doc = { a, xs, n };
        expectAgree(
          [
            ...["$firstN", "$lastN", "$maxN", "$minN"].map((op) => ({ [op]: { n: "$n", input: "$a" } })),
            ...["$sum", "$avg", "$min", "$max"].map((op) => ({ [op]: "$xs" })),
            // Several arguments: arrays are values, not traversed ($min/$max across arrays: hand-written tests).
            ...["$sum", "$avg"].map((op) => ({ [op]: ["$n", 2, "$xs"] })),
          ],
          doc,
        );
        // mingo answers NaN for no numbers; MongoDB answers null (hand-written tests).
        if (xs.some((x) => typeof x === "number")) expectAgree({ $stdDevPop: "$xs" }, doc);
      }),
      RUNS,
    );
  });
});
