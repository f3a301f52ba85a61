import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MqlRuntimeError } from "../../../src/mql/errors.ts";
import { compileReplaceRoot, compileReplaceWith } from "../../../src/mql/stages/replace-root.ts";
import { flatDocument, normalize, RUNS, runMingo } from "./support.ts";

describe("$replaceRoot / $replaceWith", () => {
  it("replaces the document with a subdocument or a built one", () => {
    expect(compileReplaceRoot({ newRoot: "$a" })({ _id: 1, a: { x: 1 } })).toEqual({ x: 1 });
    expect(compileReplaceWith({ id: "$_id", n: { $add: ["$n", 1] } })({ _id: 1, n: 2 })).toEqual({
      id: 1,
      n: 3,
    });
    expect(compileReplaceWith({ $mergeObjects: ["$a", { y: 2 }] })({ a: { x: 1 } })).toEqual({ x: 1, y: 2 });
  });

  it("fails at run time, with MongoDB's message, when the result is not an object", () => {
    const run = compileReplaceRoot({ newRoot: "$a" }, { path: "pipeline[3].$replaceRoot" });
    const failure = (doc: Record<string, unknown>) => {
      try {
        run(doc);
      } catch (e) {
        expect(e).toBeInstanceOf(MqlRuntimeError);
        expect((e as MqlRuntimeError).code).toBe(40228);
        return (e as Error).message;
      }
      throw new Error("expected a runtime error");
    };
    expect(failure({ _id: 1, a: "x" })).toBe(
      `'newRoot' expression must evaluate to an object, but resulting value was: "x". Type of resulting value: 'string'. Input document: {_id: 1, a: "x"}`,
    );
    expect(failure({ _id: 2 })).toBe(
      "'newRoot' expression must evaluate to an object, but resulting value was: MISSING. Type of resulting value: 'missing'. Input document: {_id: 2}",
    );
    expect(failure({ _id: 3, a: [1, null] })).toMatch(/was: \[1, null\]\. Type of resulting value: 'array'/);
    expect(failure({ _id: 4, a: null, big: "x".repeat(5000) })).toMatch(
      /Input document: \{_id: 4, a: null, big: "x+\.\.\.$/,
    );
  });

  it("rejects bad specs with the path", () => {
    expect(() => compileReplaceRoot({}, { path: "p" })).toThrow(/^p: no newRoot/);
    expect(() => compileReplaceRoot({ newRoot: "$a", x: 1 }, { path: "p" })).toThrow(
      /^p\.x: unrecognized option/,
    );
    expect(() => compileReplaceRoot("$a", { path: "p" })).toThrow(/^p: /);
    expect(() => compileReplaceWith({ $nope: 1 }, { path: "q" })).toThrow(/^q\.\$nope: /);
  });
});

describe("$replaceRoot against mingo", () => {
  it("agrees on documents whose field is an object", () => {
    fc.assert(
      fc.property(fc.array(flatDocument, { maxLength: 4 }), fc.constantFrom("a", "b", "c"), (docs, field) => {
        const comparable = docs.filter(
          (d) => typeof d[field] === "object" && d[field] !== null && !Array.isArray(d[field]),
        );
        const compiled = compileReplaceRoot({ newRoot: `$${field}` });
        expect(normalize(comparable.map((d) => compiled(d)))).toEqual(
          normalize(runMingo([{ $replaceRoot: { newRoot: `$${field}` } }], comparable)),
        );
      }),
      RUNS,
    );
  });
});
