import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileAddFields } from "../../../src/mql/stages/add-fields.ts";
import { disjointPaths, flatDocument, normalize, prefixesAreObjects, RUNS, runMingo } from "./support.ts";

const addFields = (spec: unknown, doc: Record<string, unknown>) => compileAddFields(spec)(doc);

describe("$addFields / $set", () => {
  it("replaces existing fields in place and appends new ones", () => {
    const out = addFields({ c: 1, a: "$b" }, { a: 1, b: 2 });
    expect(out).toEqual({ a: 2, b: 2, c: 1 });
    expect(Object.keys(out)).toEqual(["a", "b", "c"]);
  });

  it("evaluates every expression against the input document", () => {
    expect(addFields({ a: "$b", b: "$a" }, { a: 1, b: 2 })).toEqual({ a: 2, b: 1 });
  });

  it("removes a field whose value is missing", () => {
    expect(addFields({ a: "$$REMOVE", b: "$nope" }, { a: 1, c: 3 })).toEqual({ c: 3 });
  });

  it("creates and merges subdocuments for dotted paths and nested objects", () => {
    expect(addFields({ "a.b": 1 }, { x: 0 })).toEqual({ x: 0, a: { b: 1 } });
    expect(addFields({ "a.b": 1 }, { a: { c: 2 } })).toEqual({ a: { c: 2, b: 1 } });
    expect(addFields({ a: { b: 1 } }, { a: { c: 2 } })).toEqual({ a: { c: 2, b: 1 } });
    expect(addFields({ "a.b": 1 }, { a: 5 })).toEqual({ a: { b: 1 } });
  });

  it("sets a dotted field in every element of an array (MongoDB semantics)", () => {
    const doc = { a: [{ b: 0, c: 1 }, { c: 2 }, 3, [{ c: 4 }]] };
    expect(addFields({ "a.b": "$$ROOT.k" }, { ...doc, k: 9 })).toEqual({
      a: [{ b: 9, c: 1 }, { c: 2, b: 9 }, { b: 9 }, [{ c: 4, b: 9 }]],
      k: 9,
    });
  });

  it("sets an empty object and operator objects as values", () => {
    expect(addFields({ a: {} }, { a: { b: 1 } })).toEqual({ a: {} });
    expect(addFields({ a: { $literal: { $x: 1 } } }, {})).toEqual({ a: { $x: 1 } });
  });

  it("does not modify its input", () => {
    const doc = { a: { b: 1 }, l: [{ c: 1 }] };
    addFields({ "a.c": 1, "l.d": 2, z: 1 }, doc);
    expect(doc).toEqual({ a: { b: 1 }, l: [{ c: 1 }] });
  });

  it("names the path in errors", () => {
    expect(() => compileAddFields({ a: 1, "a.b": 2 }, { path: "pipeline[1].$set", stage: "$set" })).toThrow(
      "pipeline[1].$set.a.b: Invalid $set :: caused by :: Path collision at a.b remaining portion b",
    );
    expect(() => compileAddFields({ a: { $bad: 1 } }, { path: "p.$addFields" })).toThrow(
      /^p\.\$addFields\.a\.\$bad: /,
    );
    expect(() => compileAddFields(5, { path: "p" })).toThrow(/^p: .*must be an object/);
    expect(() => compileAddFields({ $a: 1 })).toThrow(/may not start with '\$'/);
  });
});

describe("$addFields against mingo", () => {
  it("agrees where the paths lead through subdocuments", () => {
    const expr = fc.constantFrom<unknown>(
      { $literal: 7 },
      "$b",
      "$a.c",
      "$$REMOVE",
      "text",
      { $add: [1, 2] },
      [1, "$_id"],
    );
    fc.assert(
      fc.property(
        fc.array(flatDocument, { maxLength: 4 }),
        disjointPaths,
        fc.array(expr, { minLength: 4, maxLength: 4 }),
        (docs, paths, exprs) => {
          const spec: Record<string, unknown> = {};
          paths.forEach((p, i) => (spec[p] = p.includes(".") ? present(exprs[i]) : exprs[i]));
          // mingo evaluates later fields against the partly updated document; MongoDB uses the input document.
          fc.pre(!readsAFieldBeingSet(spec));
          const comparable = docs.filter((d) => prefixesAreObjects(d, paths));
          const compiled = compileAddFields(spec);
          expect(normalize(comparable.map((d) => compiled(d)))).toEqual(
            normalize(runMingo([{ $addFields: spec }], comparable)),
          );
        },
      ),
      RUNS,
    );
  });
});

/**
 * Where a dotted computed field is missing, MongoDB still creates the (empty) parent subdocument and mingo
 * does not (docs/mql-differences.md), so dotted paths get expressions that always have a value.
 */
function present(expr: unknown): unknown {
  return typeof expr === "string" && expr.startsWith("$") ? { $ifNull: [expr, "none"] } : expr;
}

function readsAFieldBeingSet(spec: Record<string, unknown>): boolean {
  const set = new Set(Object.keys(spec).map((p) => p.split(".")[0]));
  return JSON.stringify(Object.values(spec))
    .split('"')
    .some((text) => /^\$[a-z_]/.test(text) && set.has(text.slice(1).split(".")[0]));
}
