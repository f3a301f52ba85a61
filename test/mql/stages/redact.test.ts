import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MqlRuntimeError } from "../../../src/mql/errors.ts";
import { compileRedact } from "../../../src/mql/stages/redact.ts";
import { flatDocument, normalize, RUNS, runMingo } from "./support.ts";

const byLevel = {
  $cond: { if: { $gt: [{ $ifNull: ["$level", 0] }, 2] }, then: "$$PRUNE", else: "$$DESCEND" },
};

describe("$redact", () => {
  it("keeps, prunes or descends at every level, including subdocuments in arrays", () => {
    const doc = {
      _id: 1,
      level: 1,
      a: { level: 3, secret: 1 },
      b: { level: 2, c: { level: 5 }, d: 4 },
      list: [{ level: 4 }, { level: 1, x: 1 }, 7, [{ level: 9 }, 8]],
    };
    expect(compileRedact(byLevel)(doc)).toEqual({
      _id: 1,
      level: 1,
      b: { level: 2, d: 4 },
      list: [{ level: 1, x: 1 }, 7, [8]],
    });
  });

  it("returns undefined when the top level is pruned, and the document itself when kept", () => {
    const doc = { level: 9, a: 1 };
    expect(compileRedact(byLevel)(doc)).toBeUndefined();
    expect(compileRedact("$$KEEP")(doc)).toBe(doc);
  });

  it("binds $$ROOT to the whole document and $$CURRENT to the level", () => {
    const spec = { $cond: [{ $eq: ["$$CURRENT.tag", "$$ROOT.hide"] }, "$$PRUNE", "$$DESCEND"] };
    expect(compileRedact(spec)({ hide: "x", a: { tag: "x" }, b: { tag: "y", c: { tag: "x" } } })).toEqual({
      hide: "x",
      b: { tag: "y" },
    });
  });

  it("fails at run time when the expression returns anything else", () => {
    const run = compileRedact("$kind", { path: "pipeline[0].$redact" });
    expect(() => run({ kind: "descend" })).not.toThrow();
    try {
      run({ kind: 1 });
      throw new Error("expected a runtime error");
    } catch (e) {
      expect(e).toBeInstanceOf(MqlRuntimeError);
      expect((e as MqlRuntimeError).code).toBe(17053);
      expect((e as Error).message).toBe(
        "$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned 1",
      );
    }
  });

  it("rejects bad expressions with the path", () => {
    expect(() => compileRedact({ $nope: 1 }, { path: "pipeline[0].$redact" })).toThrow(
      /^pipeline\[0\]\.\$redact\.\$nope: /,
    );
  });
});

describe("$redact against mingo", () => {
  it("agrees", () => {
    const verdict = fc.constantFrom("$$PRUNE", "$$KEEP", "$$DESCEND");
    fc.assert(
      fc.property(
        fc.array(flatDocument, { maxLength: 4 }),
        fc.constantFrom("a", "b", "c"),
        fc.constantFrom("int", "string", "object", "array", "missing", "null"),
        verdict,
        verdict,
        (docs, field, value, then, otherwise) => {
          // (a $type test: mingo's $eq matches array elements, which aggregation's $eq does not)
          const spec = { $cond: { if: { $eq: [{ $type: `$${field}` }, value] }, then, else: otherwise } };
          const compiled = compileRedact(spec);
          const ours = docs.map((d) => compiled(d)).filter((d) => d !== undefined);
          // mingo yields undefined for a pruned document where the stage emits nothing
          const expected = runMingo([{ $redact: spec }], docs).filter((d) => d !== undefined);
          // mingo also drops null elements of arrays it descends; MongoDB keeps every non-document element
          expect(withoutNullElements(normalize(ours))).toEqual(withoutNullElements(normalize(expected)));
        },
      ),
      RUNS,
    );
  });
});

function withoutNullElements(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(withoutNullElements);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNullElements(v)]));
  }
  return value;
}
