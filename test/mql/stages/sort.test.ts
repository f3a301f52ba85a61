import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSort, validateLimit } from "../../../src/mql/stages/sort.ts";
import { flatDocument, RUNS, runMingo } from "./support.ts";

const sorted = (spec: unknown, docs: Array<Record<string, unknown>>) =>
  [...docs].sort(compileSort(spec)).map((d) => d._id);

describe("$sort", () => {
  it("orders by BSON type order, then value, in either direction", () => {
    const docs = [
      { _id: 1, a: "s" },
      { _id: 2, a: 2 },
      { _id: 3, a: null },
      { _id: 4, a: { x: 1 } },
      { _id: 5, a: 1.5 },
      { _id: 6, a: true },
    ];
    expect(sorted({ a: 1 }, docs)).toEqual([3, 5, 2, 1, 4, 6]);
    expect(sorted({ a: -1 }, docs)).toEqual([6, 4, 1, 2, 5, 3]);
  });

  it("sorts missing as null, keeping ties in arrival order", () => {
    expect(sorted({ a: 1 }, [{ _id: 1, a: 1 }, { _id: 2 }, { _id: 3, a: null }, { _id: 4 }])).toEqual([
      2, 3, 4, 1,
    ]);
  });

  it("uses an array's smallest element ascending and largest descending; [] sorts before null", () => {
    const docs = [
      { _id: 1, a: [1, 5] },
      { _id: 2, a: 3 },
      { _id: 3, a: [] },
      { _id: 4, a: null },
      { _id: 5, a: [2, 4] },
    ];
    expect(sorted({ a: 1 }, docs)).toEqual([3, 4, 1, 5, 2]);
    expect(sorted({ a: -1 }, docs)).toEqual([1, 5, 2, 4, 3]);
  });

  it("follows dotted paths through arrays of subdocuments", () => {
    const docs = [
      { _id: 1, a: [{ b: 5 }, { b: 1 }] },
      { _id: 2, a: { b: 3 } },
      { _id: 3, a: [{ c: 1 }, { b: 2 }] },
    ];
    expect(sorted({ "a.b": 1 }, docs)).toEqual([3, 1, 2]);
    expect(sorted({ "a.b": -1 }, docs)).toEqual([1, 2, 3]);
  });

  it("breaks ties with later keys", () => {
    expect(
      sorted({ a: 1, b: -1 }, [
        { _id: 1, a: 1, b: 1 },
        { _id: 2, a: 1, b: 2 },
        { _id: 3, a: 0 },
      ]),
    ).toEqual([3, 2, 1]);
  });

  it("rejects bad specs with the path", () => {
    expect(() => compileSort({}, { path: "pipeline[4].$sort" })).toThrow(
      /^pipeline\[4\]\.\$sort: .*at least one sort key/,
    );
    expect(() => compileSort({ a: 2 }, { path: "s" })).toThrow(/^s\.a: \$sort key ordering must be 1/);
    expect(() => compileSort({ a: "asc" }, { path: "s" })).toThrow(/^s\.a: /);
    expect(() => compileSort({ s: { $meta: "textScore" } }, { path: "s" })).toThrow(/^s\.s: .*textScore/);
    expect(() => compileSort(1, { path: "s" })).toThrow(/^s: /);
  });
});

describe("$limit validation", () => {
  it("accepts positive integers only", () => {
    expect(validateLimit(5)).toBe(5);
    expect(() => validateLimit(0, { path: "pipeline[1].$limit" })).toThrow(
      /^pipeline\[1\]\.\$limit: the limit must be positive/,
    );
    expect(() => validateLimit(1.5)).toThrow(/expected a number/);
    expect(() => validateLimit("5")).toThrow(/expected a number/);
  });
});

describe("$sort against mingo", () => {
  it("agrees on scalar fields", () => {
    const scalarDoc = fc.record({
      _id: fc.nat(),
      a: fc.option(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom("x", "y")), { nil: undefined }),
      b: fc.option(fc.integer({ min: -3, max: 3 }), { nil: null }),
    });
    const direction = fc.constantFrom(1, -1);
    fc.assert(
      fc.property(
        fc.uniqueArray(scalarDoc, { selector: (d) => d._id, maxLength: 8 }),
        direction,
        direction,
        (docs, da, db) => {
          const spec = { a: da, b: db, _id: 1 };
          expect(sorted(spec, docs)).toEqual(runMingo([{ $sort: spec }], docs).map((d) => d._id));
        },
      ),
      RUNS,
    );
  });

  it("sorts generated documents into an order consistent with itself", () => {
    fc.assert(
      fc.property(
        fc.array(flatDocument, { maxLength: 8 }),
        fc.constantFrom("a", "b", "a.b"),
        fc.constantFrom(1, -1),
        (docs, field, dir) => {
          const compare = compileSort({ [field]: dir });
          const out = [...docs].sort(compare);
          for (let i = 1; i < out.length; i++) expect(compare(out[i - 1], out[i])).toBeLessThanOrEqual(0);
          for (const a of docs)
            for (const b of docs) expect(Math.sign(compare(a, b)) + 0).toBe(-Math.sign(compare(b, a)) + 0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
