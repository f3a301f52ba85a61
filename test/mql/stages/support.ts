import fc from "fast-check";
import { Aggregator } from "mingo";
import type { Doc } from "../../../src/mql/types.ts";

/** Field names shared by generated documents and specs, so specs hit existing fields often. */
export const FIELDS = ["a", "b", "c"] as const;

const scalar = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom("x", "y", ""),
  fc.constant(null),
  fc.boolean(),
);

/** Values up to three levels deep: scalars, subdocuments, arrays of scalars and subdocuments. */
export const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, tie("object"), tie("array")),
  object: fc.dictionary(fc.constantFrom(...FIELDS), tie("value"), { maxKeys: 3, noNullPrototype: true }),
  array: fc.array(tie("value"), { maxLength: 3 }),
})).value;

/**
 * Like `value`, but no array directly holds an array: mingo does not descend nested arrays in projections
 * where MongoDB's aggregation does (docs/mql-differences.md), so differential tests avoid them.
 */
export const flatValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, tie("object"), tie("array")),
  object: fc.dictionary(fc.constantFrom(...FIELDS), tie("value"), { maxKeys: 3, noNullPrototype: true }),
  array: fc.array(fc.oneof(scalar, tie("object")), { maxLength: 3 }),
})).value;

function documentOf(values: fc.Arbitrary<unknown>): fc.Arbitrary<Doc> {
  return fc
    .tuple(
      fc.integer({ min: 1, max: 1000 }),
      fc.dictionary(fc.constantFrom(...FIELDS), values, { maxKeys: 3, noNullPrototype: true }),
    )
    .map(([id, fields]) => ({ _id: id, ...fields }));
}

/** Documents with an `_id` and some of the shared fields. */
export const document: fc.Arbitrary<Doc> = documentOf(value);

/** Documents whose arrays hold no arrays directly. */
export const flatDocument: fc.Arbitrary<Doc> = documentOf(flatValue);

/** True when every proper prefix of each path is a subdocument or missing in `doc` (no arrays, no scalars). */
export function prefixesAreObjects(doc: Doc, paths: readonly string[]): boolean {
  return paths.every((path) => {
    let current: unknown = doc;
    const parts = path.split(".");
    for (let i = 0; i < parts.length - 1; i++) {
      if (current === undefined) return true;
      if (current === null || typeof current !== "object" || Array.isArray(current)) return false;
      current = (current as Doc)[parts[i]];
    }
    return (
      current === undefined || (current !== null && typeof current === "object" && !Array.isArray(current))
    );
  });
}

/** A dotted path of one to three of the shared field names. */
export const fieldPath = fc
  .array(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 3 })
  .map((p) => p.join("."));

/** Paths where none is a prefix of another (so a projection spec has no path collision). */
export const disjointPaths = fc
  .uniqueArray(fieldPath, { minLength: 1, maxLength: 4 })
  .map((paths) =>
    paths.filter((p, i) => !paths.some((q, j) => j !== i && (q.startsWith(`${p}.`) || (q === p && j < i)))),
  );

/** Runs one pipeline through mingo (the oracle), on copies so nothing is shared with Eddy's run. */
export function runMingo(pipeline: Doc[], docs: readonly Doc[]): Doc[] {
  return new Aggregator(pipeline).run(structuredClone([...docs])) as Doc[];
}

/** Recursively drops `undefined` properties, as serialising to BSON would. */
export function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Doc = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalize(v);
    return out;
  }
  return value;
}

export const RUNS = { numRuns: 1500 };
