import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileUnset } from "../../../src/mql/stages/unset.ts";
import { disjointPaths, flatDocument, normalize, RUNS, runMingo } from "./support.ts";

describe("$unset", () => {
  it("removes one field, several, dotted ones and _id", () => {
    expect(compileUnset("a")({ _id: 1, a: 1, b: 2 })).toEqual({ _id: 1, b: 2 });
    expect(compileUnset(["_id", "b.c"])({ _id: 1, a: 1, b: { c: 1, d: 2 } })).toEqual({ a: 1, b: { d: 2 } });
  });

  it("removes through arrays of subdocuments, keeping other elements", () => {
    expect(compileUnset("a.b")({ a: [{ b: 1, c: 2 }, 3, [{ b: 4 }]] })).toEqual({ a: [{ c: 2 }, 3, [{}]] });
  });

  it("rejects bad specs with the path", () => {
    expect(() => compileUnset(5, { path: "pipeline[0].$unset" })).toThrow(
      /^pipeline\[0\]\.\$unset: .*string or an array/,
    );
    expect(() => compileUnset([], { path: "u" })).toThrow(/^u: /);
    expect(() => compileUnset(["a", 1], { path: "u" })).toThrow(/^u\[1\]: .*only string values/);
    expect(() => compileUnset(["a", "a.b"], { path: "u" })).toThrow(/^u\[1\]: .*Path collision/);
    expect(() => compileUnset("$a", { path: "u" })).toThrow(/may not start with '\$'/);
  });
});

describe("$unset against mingo", () => {
  it("agrees", () => {
    fc.assert(
      fc.property(fc.array(flatDocument, { maxLength: 4 }), disjointPaths, (docs, paths) => {
        let expected: unknown;
        try {
          expected = normalize(runMingo([{ $unset: paths }], docs));
        } catch {
          return; // mingo crashes on some paths through arrays holding null
        }
        const compiled = compileUnset(paths);
        expect(normalize(docs.map((d) => compiled(d)))).toEqual(expected);
      }),
      RUNS,
    );
  });
});
