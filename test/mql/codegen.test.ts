import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Decimal128, Double, Long } from "bson";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileGroup } from "../../src/mql/accumulators/group.ts";
import { withoutCodegen } from "../../src/mql/codegen.ts";
import { compileExpression } from "../../src/mql/expression/compile.ts";
import { compileQuery } from "../../src/mql/query/compile.ts";
import { compileAddFields } from "../../src/mql/stages/add-fields.ts";
import { compileProject } from "../../src/mql/stages/project.ts";
import type { Doc } from "../../src/mql/types.ts";
import { runGroup } from "./accumulators/run-group.ts";

/**
 * Every generated hot path (`src/mql/codegen.ts`) has a closure-based twin used when the host forbids code
 * generation from strings. These tests compile the same specs both ways and require identical results
 * (values, field order, errors) on generated documents.
 */

/**
 * Field names: plain ones, ones that bson values and arrays carry as properties, and an inherited one
 * (not `constructor`: `toStrictEqual` compares objects' `constructor` properties).
 */
const NAMES = ["a", "b", "value", "length", "toString"] as const;

const scalar = fc.oneof(
  fc.constantFrom<unknown>(0, -0, 1, -1, 2.5, NaN, Infinity, "", "a", "b", null, true, false),
  fc.constantFrom<unknown>(
    new Date(0),
    Long.fromNumber(2),
    new Double(1.5),
    Decimal128.fromString("2"),
    undefined,
  ),
);

/** Values with subdocuments (plain and null-prototype), arrays of anything, bson values and missing fields. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: scalar },
    { weight: 2, arbitrary: tie("object") },
    { weight: 1, arbitrary: tie("array") },
  ),
  object: fc
    .tuple(
      fc.dictionary(fc.constantFrom(...NAMES), tie("value"), { maxKeys: 3, noNullPrototype: true }),
      fc.boolean(),
    )
    .map(([fields, nullPrototype]) => {
      const doc: Doc = nullPrototype ? Object.create(null) : {};
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) doc[k] = v;
      return doc;
    }),
  array: fc.array(tie("value"), { maxLength: 3 }),
})).value;

const document: fc.Arbitrary<Doc> = fc
  .dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 4, noNullPrototype: true })
  .map((fields) => {
    const doc: Doc = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) doc[k] = v;
    return doc;
  });

const path = fc.array(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 3 }).map((p) => p.join("."));

/** The outcome of running `run`: its value, or the message of what it threw. */
function outcome(run: () => unknown): unknown {
  try {
    return { value: run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Field names at every level, in order, so equal results also have equal field order. */
function keysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keysDeep);
  if (value !== null && typeof value === "object" && !(value instanceof Date) && !("_bsontype" in value)) {
    return Object.entries(value).map(([k, v]) => [k, keysDeep(v)]);
  }
  return null;
}

/** A deep copy of the documents and arrays in `value`; other values (Dates, bson values) are shared. */
function copyDocuments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyDocuments);
  if (value === null || typeof value !== "object") return value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Doc = proto === null ? Object.create(null) : {};
  for (const [k, v] of Object.entries(value)) out[k] = copyDocuments(v);
  return out;
}

function expectSame(generated: unknown, closures: unknown): void {
  expect(generated).toStrictEqual(closures);
  expect(keysDeep(generated)).toEqual(keysDeep(closures));
}

describe("generated code and its closure fallback agree", () => {
  it("on field paths read from the root and from a variable", () => {
    fc.assert(
      fc.property(path, document, (p, doc) => {
        for (const expr of [`$${p}`, `$$ROOT.${p}`]) {
          const generated = compileExpression(expr);
          const closures = withoutCodegen(() => compileExpression(expr));
          expectSame(generated(doc, {}), closures(doc, {}));
        }
        expectSame(compileExpression(`$${p}`)(doc, {}), compileExpression(`$$ROOT.${p}`)(doc, {}));
      }),
      { numRuns: 3000 },
    );
  });

  it("reads inherited names only as a document's own fields", () => {
    for (const read of [compileExpression, (e: string) => withoutCodegen(() => compileExpression(e))]) {
      expect(read("$constructor")({}, {})).toBeUndefined();
      expect(read("$a.toString")({ a: {} }, {})).toBeUndefined();
      expect(read("$a.constructor")({ a: [{ constructor: 1 }, {}] }, {})).toEqual([1]);
      expect(read("$constructor.b")({ constructor: { b: 2 } }, {})).toBe(2);
    }
  });

  it("does not treat a bson value or an array as a document on the way down a path", () => {
    const doc = { d: new Double(5), l: Long.fromNumber(3), arr: [{ length: 1 }, 7] };
    for (const read of [compileExpression, (e: string) => withoutCodegen(() => compileExpression(e))]) {
      expect(read("$d.value")(doc, {})).toBeUndefined();
      expect(read("$l.low")(doc, {})).toBeUndefined();
      expect(read("$arr.length")(doc, {})).toEqual([1]);
    }
    expect(compileQuery({ "d.value": 5 })(doc)).toBe(false);
    expect(compileQuery({ "d.value": { $gt: 1 } })(doc)).toBe(false);
  });

  const operator = fc.constantFrom("$eq", "$ne", "$gt", "$gte", "$lt", "$lte");
  const operand = fc.constantFrom<unknown>(0, -0, 1, 2.5, -1, Infinity, -Infinity, "", "a", "b", true, false);
  const fieldFilter = fc
    .tuple(path, operator, operand, fc.boolean())
    .map(([p, op, rhs, implicit]) => ({ [p]: implicit && op === "$eq" ? rhs : { [op]: rhs } }));
  const filter: fc.Arbitrary<Doc> = fc.oneof(
    fieldFilter,
    fc.array(fieldFilter, { minLength: 2, maxLength: 4 }).map((fs) => Object.assign({}, ...fs) as Doc),
    fc
      .tuple(fc.constantFrom("$and", "$or", "$nor"), fc.array(fieldFilter, { minLength: 1, maxLength: 4 }))
      .map(([op, fs]) => ({ [op]: fs })),
  );

  it("on $match filters: fast-path comparisons, their conjunctions and $and/$or/$nor chains", () => {
    fc.assert(
      fc.property(filter, fc.array(document, { minLength: 1, maxLength: 5 }), (f, docs) => {
        const generated = compileQuery(f);
        const closures = withoutCodegen(() => compileQuery(f));
        for (const doc of docs) expect(generated(doc)).toBe(closures(doc));
      }),
      { numRuns: 3000 },
    );
  });

  /** Expressions over the shared names, including `$$REMOVE` and ones that throw on non-numbers. */
  const expression: fc.Arbitrary<unknown> = fc.oneof(
    path.map((p) => `$${p}`),
    fc.constantFrom<unknown>("$$REMOVE", 7, "text", { $literal: "$a" }, { a: "$b" }),
    path.map((p) => ({ $multiply: [`$${p}`, 2] })),
    path.map((p) => ({ $cond: [{ $gt: [`$${p}`, 1] }, "big", "$$REMOVE"] })),
  );
  /** Specs over disjoint paths (so they compile), with nested sub-specs for `$addFields`. */
  const disjoint = fc
    .uniqueArray(path, { minLength: 1, maxLength: 4 })
    .map((paths) =>
      paths.filter(
        (p, i) => !paths.some((q, j) => j !== i && (q.startsWith(`${p}.`) || p.startsWith(`${q}.`))),
      ),
    );
  const addFieldsSpec = fc
    .tuple(disjoint, fc.array(expression, { minLength: 4, maxLength: 4 }), fc.boolean())
    .map(([paths, exprs, nest]) => {
      const spec: Doc = {};
      paths.forEach((p, i) => {
        const [head, ...rest] = p.split(".");
        if (nest && rest.length > 0 && !(head in spec)) spec[head] = { [rest.join(".")]: exprs[i] };
        else spec[p] = exprs[i];
      });
      return spec;
    });
  const projectSpec = fc
    .tuple(
      disjoint,
      fc.array(fc.oneof(fc.constant(1), fc.constant(true), expression), { minLength: 4 }),
      fc.boolean(),
    )
    .map(([paths, values, excludeId]) => {
      const spec: Doc = excludeId ? { _id: 0 } : {};
      paths.forEach((p, i) => (spec[p] = values[i]));
      return spec;
    });

  it("on $addFields, $project and $addFields then $project, including fields $addFields overwrites", () => {
    fc.assert(
      fc.property(
        addFieldsSpec,
        projectSpec,
        fc.array(document, { minLength: 1, maxLength: 4 }),
        (add, project, docs) => {
          const compileBoth = <T>(compile: () => T): [T | undefined, T | undefined] => {
            const generated = outcome(compile) as { value?: T; error?: string };
            const closures = outcome(() => withoutCodegen(compile)) as { value?: T; error?: string };
            expect(generated.error).toBe(closures.error);
            return [generated.value, closures.value];
          };
          const [addG, addC] = compileBoth(() => compileAddFields(add));
          const [projectG, projectC] = compileBoth(() => compileProject(project));
          for (const doc of docs) {
            const snapshot = copyDocuments(doc);
            if (addG && addC)
              expectSame(
                outcome(() => addG(doc)),
                outcome(() => addC(doc)),
              );
            if (projectG && projectC)
              expectSame(
                outcome(() => projectG(doc)),
                outcome(() => projectC(doc)),
              );
            if (addG && addC && projectG && projectC) {
              expectSame(
                outcome(() => projectG(addG(doc))),
                outcome(() => projectC(addC(doc))),
              );
            }
            expect(doc).toStrictEqual(snapshot); // neither form modifies its input
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("on an $addFields overwriting a field a later $project includes, with $$REMOVE and arrays", () => {
    const add = { a: { $multiply: ["$b", 10] }, "c.d": "$b", gone: "$$REMOVE", b: "$$REMOVE" };
    const project = { _id: 0, a: 1, "c.d": 1, b: 1, gone: 1, sum: { $add: ["$a", 1] } };
    const docs: Doc[] = [
      { _id: 1, a: "old", b: 2, c: { d: 0, e: 1 }, gone: 5 },
      { _id: 2, b: 3, c: [{ d: 1 }, 4, [{ e: 2 }]] },
      { _id: 3, c: "scalar" },
    ];
    // Kept fields come in input order: $addFields replaced `a` in place but appended it to the second doc.
    const expected = [
      { a: 20, c: { d: 2 }, sum: 21 },
      { c: [{ d: 3 }, { d: 3 }, [{ d: 3 }]], a: 30, sum: 31 },
      { c: {}, a: null, sum: null },
    ];
    const modes: Array<<T>(compile: () => T) => T> = [(compile) => compile(), withoutCodegen];
    for (const compile of modes) {
      const run = compile(() => {
        const a = compileAddFields(add);
        const p = compileProject(project);
        return (doc: Doc) => p(a(doc));
      });
      const out = docs.map(run);
      expect(out).toStrictEqual(expected);
      expect(out.map((d) => Object.keys(d))).toEqual(expected.map((d) => Object.keys(d)));
    }
  });

  const groupValue = fc.oneof(
    fc.constantFrom<unknown>(1, 2.5, -0, NaN, "x", null, Long.fromNumber(3), Decimal128.fromString("1.5")),
    fc.integer({ min: -5, max: 5 }),
  );
  const groupDocs = fc.array(
    fc.record({ k: fc.constantFrom("a", "b", 1, 1.0, null), v: groupValue }, { requiredKeys: ["k"] }),
    { maxLength: 25 },
  );
  const GROUP = {
    _id: "$k",
    sum: { $sum: "$v" },
    avg: { $avg: "$v" },
    min: { $min: "$v" },
    max: { $max: "$v" },
    n: { $count: {} },
    all: { $push: "$v" },
    first: { $first: "$v" },
    set: { $addToSet: "$v" },
  };

  it("on $group's accumulate, evaluate + addValues and the one-accumulator-at-a-time loop", () => {
    fc.assert(
      fc.property(groupDocs, (docs) => {
        for (const group of [compileGroup(GROUP), withoutCodegen(() => compileGroup(GROUP))]) {
          const expected = runGroup(group, docs);
          const viaAccumulate = new Map<unknown, unknown[]>();
          const viaValues = new Map<unknown, unknown[]>();
          for (const doc of docs) {
            const id = group.key(doc, {}) ?? null;
            if (!viaAccumulate.has(id)) viaAccumulate.set(id, group.initStates());
            if (!viaValues.has(id)) viaValues.set(id, group.initStates());
            group.accumulate(viaAccumulate.get(id)!, doc, {});
            group.addValues(viaValues.get(id)!, group.evaluate(doc, {}));
          }
          for (const states of [viaAccumulate, viaValues]) {
            const rows = [...states].map(([id, s]) => {
              const row: Doc = { _id: id };
              group.accumulators.forEach((acc, i) => (row[acc.field] = acc.spec.result(s[i])));
              return row;
            });
            expect(rows).toStrictEqual(expected);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("without code generation from strings", () => {
  it("compiles and runs a pipeline on the closure fallbacks with the same results", () => {
    const src = (file: string) =>
      JSON.stringify(fileURLToPath(new URL(`../../src/mql/${file}`, import.meta.url)));
    const script = `
      import { compileQuery } from ${src("query/compile.ts")};
      import { compileAddFields } from ${src("stages/add-fields.ts")};
      import { compileProject } from ${src("stages/project.ts")};
      import { compileGroup } from ${src("accumulators/group.ts")};
      const match = compileQuery({ n: { $gte: 2 }, "o.s": "x" });
      const add = compileAddFields({ m: { $multiply: ["$n", 2] } });
      const project = compileProject({ _id: 0, m: 1, s: "$o.s" });
      const docs = [{ n: 1, o: { s: "x" } }, { n: 2, o: { s: "x" } }, { n: 3, o: { s: "y" } }, { n: 4, o: { s: "x" } }];
      const group = compileGroup({ _id: "$o.s", total: { $sum: "$n" } });
      const states = group.initStates();
      for (const doc of docs) group.accumulate(states, doc, {});
      let generated = true;
      try { new Function("return 1"); } catch { generated = false; }
      console.log(JSON.stringify({ generated, out: docs.filter((d) => match(d)).map((d) => project(add(d))), total: states[0] }));
    `;
    const child = spawnSync(
      process.execPath,
      ["--disallow-code-generation-from-strings", "--input-type=module", "-e", script],
      { encoding: "utf8" },
    );
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({
      generated: false,
      out: [
        { m: 4, s: "x" },
        { m: 8, s: "x" },
      ],
      total: 10,
    });
  });
});
