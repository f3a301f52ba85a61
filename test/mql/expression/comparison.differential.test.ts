import fc from "fast-check";
import { describe, it } from "vitest";
import { bsonTypeOf, canonicalRank } from "../../../src/mql/bson-types.ts";
import type { Doc } from "../../../src/mql/types.ts";
import { checkAgainstMingo, type Disagreement, valueOf } from "./mingo-oracle.ts";

/** Values of one comparable kind at a time, nested, so comparisons exercise element-wise ordering. */
const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0.5, -1.5, 2.25),
  fc.constantFrom("", "a", "ab", "b", "B"),
  fc.boolean(),
  fc.constant(null),
  fc.integer({ min: 0, max: 3 }).map((i) => new Date(i * 1000)),
);
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ maxDepth: 2, depthIdentifier: "cmp" }, scalar, scalar, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 3 }),
  object: fc.dictionary(fc.constantFrom("a", "b"), tie("value"), { maxKeys: 2, noNullPrototype: true }),
})).value;

const OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$cmp"];

/** Comparisons inside arrays and objects: mingo (unlike MongoDB) also brackets types there. */
function hasMixedTypes(a: unknown, b: unknown): boolean {
  const ra = canonicalRank(bsonTypeOf(a));
  if (ra !== canonicalRank(bsonTypeOf(b))) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.some((x, i) => i < b.length && hasMixedTypes(x, b[i]));
  if (bsonTypeOf(a) === "object" && bsonTypeOf(b) === "object") {
    const ka = Object.keys(a as Doc);
    const kb = Object.keys(b as Doc);
    return ka.some(
      (k, i) => i < kb.length && (k !== kb[i] || hasMixedTypes((a as Doc)[k], (b as Doc)[kb[i]])),
    );
  }
  return false;
}

const isContainer = (v: unknown): boolean => Array.isArray(v) || bsonTypeOf(v) === "object";

/**
 * See docs/mql-differences.md: mingo brackets types, and orders arrays and documents with
 * query semantics (element matching, its own length and field rules) rather than the BSON order.
 */
function knownDifference(d: Disagreement): boolean {
  const [a, b] = d.args.map(valueOf);
  return hasMixedTypes(a, b) || isContainer(a) || isContainer(b);
}

/** mingo's $gt/$gte/$lt/$lte match array elements as a query does ({$lte: [[], []]} is false). */
function orderedArrays(d: Disagreement): boolean {
  return ["$gt", "$gte", "$lt", "$lte"].includes(d.operator) && d.args.some((a) => Array.isArray(valueOf(a)));
}

describe("comparisons agree with mingo", () => {
  it("over nested values", () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPERATORS), value, value, (op, x, y) =>
        checkAgainstMingo({ [op]: ["$x", "$y"] }, { x, y }, knownDifference),
      ),
      { numRuns: 5000 },
    );
  });

  it("for a value against itself", () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPERATORS), value, (op, x) =>
        checkAgainstMingo({ [op]: ["$x", "$y"] }, { x, y: structuredClone(x) }, orderedArrays),
      ),
      { numRuns: 1000 },
    );
  });
});
