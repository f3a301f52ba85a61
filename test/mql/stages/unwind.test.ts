import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileUnwind } from "../../../src/mql/stages/unwind.ts";
import { flatDocument, normalize, RUNS, runMingo } from "./support.ts";

describe("$unwind", () => {
  it("emits one document per element, in order", () => {
    expect(compileUnwind("$a")({ _id: 1, a: [1, { x: 2 }, [3]], b: 0 })).toEqual([
      { _id: 1, a: 1, b: 0 },
      { _id: 1, a: { x: 2 }, b: 0 },
      { _id: 1, a: [3], b: 0 },
    ]);
  });

  it("unwinds a dotted path, copying only the subdocuments on the path", () => {
    const doc = { _id: 1, s: { t: [1, 2], u: 3 }, other: { k: 1 } };
    const out = compileUnwind("$s.t")(doc);
    expect(out).toEqual([
      { _id: 1, s: { t: 1, u: 3 }, other: { k: 1 } },
      { _id: 1, s: { t: 2, u: 3 }, other: { k: 1 } },
    ]);
    expect(doc.s.t).toEqual([1, 2]);
    expect(out[0].other).toBe(doc.other);
  });

  it("does not traverse arrays on the way to the field", () => {
    expect(compileUnwind("$a.b")({ a: [{ b: [1, 2] }] })).toEqual([]);
  });

  it("passes a non-array value through once", () => {
    expect(compileUnwind("$a")({ a: 5 })).toEqual([{ a: 5 }]);
    expect(compileUnwind({ path: "$a", includeArrayIndex: "i" })({ a: { x: 1 } })).toEqual([
      { a: { x: 1 }, i: null },
    ]);
  });

  it("drops null, missing and empty arrays unless preserved", () => {
    const drop = compileUnwind("$a");
    const keep = compileUnwind({ path: "$a", preserveNullAndEmptyArrays: true, includeArrayIndex: "idx" });
    for (const doc of [{ a: null }, {}, { a: [] }]) expect(drop(doc)).toEqual([]);
    expect(keep({ _id: 1, a: null })).toEqual([{ _id: 1, a: null, idx: null }]);
    expect(keep({ _id: 2 })).toEqual([{ _id: 2, idx: null }]);
    expect(keep({ _id: 3, a: [] })).toEqual([{ _id: 3, idx: null }]);
    expect(Object.keys(keep({ _id: 3, a: [] })[0])).toEqual(["_id", "idx"]);
  });

  it("writes the array index, also into a dotted field", () => {
    expect(compileUnwind({ path: "$a", includeArrayIndex: "m.i" })({ a: ["x", "y"] })).toEqual([
      { a: "x", m: { i: 0 } },
      { a: "y", m: { i: 1 } },
    ]);
  });

  it("rejects bad specs with the path", () => {
    expect(() => compileUnwind("a", { path: "pipeline[1].$unwind" })).toThrow(
      "pipeline[1].$unwind: path option to $unwind stage should be prefixed with a '$': a",
    );
    expect(() => compileUnwind({ path: "a" }, { path: "u" })).toThrow(/^u\.path: .*prefixed with a '\$'/);
    expect(() => compileUnwind({}, { path: "u" })).toThrow(/^u: no path/);
    expect(() => compileUnwind({ path: "$a", x: 1 }, { path: "u" })).toThrow(/^u\.x: unrecognized option/);
    expect(() => compileUnwind({ path: "$a", includeArrayIndex: "$i" }, { path: "u" })).toThrow(
      /^u\.includeArrayIndex: /,
    );
    expect(() => compileUnwind({ path: "$a", preserveNullAndEmptyArrays: 1 }, { path: "u" })).toThrow(
      /^u\.preserveNullAndEmptyArrays: /,
    );
    expect(() => compileUnwind(5, { path: "u" })).toThrow(/^u: /);
    expect(() => compileUnwind("$", { path: "u" })).toThrow(/^u: /);
  });
});

describe("$unwind against mingo", () => {
  it("agrees", () => {
    const options = fc.record(
      { includeArrayIndex: fc.constant("idx"), preserveNullAndEmptyArrays: fc.boolean() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.array(flatDocument, { maxLength: 4 }),
        fc.constantFrom("$a", "$b", "$a.b"),
        options,
        (docs, path, opts) => {
          const spec = { path, ...opts };
          const compiled = compileUnwind(spec);
          // mingo drops documents whose value is "" or {}; MongoDB unwinds them as one-element arrays.
          // mingo also looks through an array on the way ($a.b with a: [{b}]); MongoDB's path stops there.
          const comparable = docs.filter(
            (d) => !isEmptyScalar(readPath(d, path.slice(1))) && !(path === "$a.b" && Array.isArray(d.a)),
          );
          expect(normalize(comparable.flatMap((d) => compiled(d)))).toEqual(
            normalize(runMingo([{ $unwind: spec }], comparable)),
          );
        },
      ),
      RUNS,
    );
  });
});

function readPath(doc: Record<string, unknown>, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function isEmptyScalar(value: unknown): boolean {
  return (
    value === "" ||
    (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
  );
}
