import { isPlainObject } from "../../../src/mql/bson-types.ts";

/**
 * Cases where mingo (the test oracle) disagrees with real MongoDB. Each is documented in
 * docs/mql-differences.md with MongoDB's behaviour; the differential test skips exactly these.
 */
export interface KnownMingoDifference {
  readonly name: string;
  readonly applies: (filter: Record<string, unknown>, doc: Record<string, unknown>) => boolean;
}

interface Condition {
  readonly path: string;
  readonly condition: unknown;
}

/** Every (field path, condition) pair of a filter, through $and/$or/$nor. */
export function conditionsOf(filter: Record<string, unknown>): Condition[] {
  const out: Condition[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === "$and" || key === "$or" || key === "$nor") {
      for (const sub of value as Record<string, unknown>[]) out.push(...conditionsOf(sub));
    } else if (!key.startsWith("$")) {
      out.push({ path: key, condition: value });
    }
  }
  return out;
}

/** True when walking `path` through objects reaches an array before the last component. */
function arrayOnPath(doc: unknown, parts: readonly string[]): unknown[] | undefined {
  let current = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    if (!isPlainObject(current)) return undefined;
    current = current[parts[i]];
    if (Array.isArray(current)) return current;
  }
  return undefined;
}

function mentions(condition: unknown, test: (key: string, value: unknown) => boolean): boolean {
  if (Array.isArray(condition)) return condition.some((c) => mentions(c, test));
  if (!isPlainObject(condition)) return false;
  return Object.entries(condition).some(([k, v]) => test(k, v) || mentions(v, test));
}

function containsNaN(value: unknown): boolean {
  if (typeof value === "number") return Number.isNaN(value);
  if (Array.isArray(value)) return value.some(containsNaN);
  if (isPlainObject(value)) return Object.values(value).some(containsNaN);
  return false;
}

const RANGE = new Set(["$gt", "$gte", "$lt", "$lte"]);

export const KNOWN_MINGO_DIFFERENCES: readonly KnownMingoDifference[] = [
  {
    // mingo descends into arrays nested in arrays, and into scalar array elements, on a dotted path;
    // MongoDB only descends into documents (and into an element named by a numeric component).
    name: "dotted path through an array holding non-documents",
    applies: (filter, doc) =>
      conditionsOf(filter).some(({ path }) => {
        const array = arrayOnPath(doc, path.split("."));
        return array !== undefined && (array.length === 0 || array.some((e) => !isPlainObject(e)));
      }),
  },
  {
    // MongoDB yields missing for a document element lacking the rest of the path, and treats a numeric
    // component as both an index and a field name of document elements.
    name: "dotted path through an array of documents compared with null/missing or by index",
    applies: (filter, doc) =>
      conditionsOf(filter).some(({ path, condition }) => {
        const parts = path.split(".");
        if (arrayOnPath(doc, parts) === undefined) return false;
        return parts.some((p) => /^\d+$/.test(p)) || matchesMissing(condition);
      }),
  },
  {
    // MongoDB: {$gte: null} and {$lte: null} match missing fields as {$eq: null} does; mingo does not.
    name: "$gte/$lte null on a missing field",
    applies: (filter) =>
      conditionsOf(filter).some(({ condition }) =>
        mentions(condition, (k, v) => (k === "$gte" || k === "$lte") && v === null),
      ),
  },
  {
    // MongoDB: NaN is neither less nor greater than any number; mingo orders it below all numbers.
    name: "range comparison with NaN",
    applies: (filter, doc) =>
      conditionsOf(filter).some(({ condition }) =>
        mentions(condition, (k, v) => RANGE.has(k) && (containsNaN(v) || containsNaN(doc))),
      ),
  },
  {
    // MongoDB's $type matches NaN as a double; mingo's "number" alias does not.
    name: "$type of NaN",
    applies: (filter, doc) =>
      containsNaN(doc) &&
      conditionsOf(filter).some(({ condition }) => mentions(condition, (k) => k === "$type")),
  },
  {
    // MongoDB tests the elements of an array at the end of a path, not the elements of arrays nested in
    // it ({a: /x/} does not match {a: [["x"]]}); mingo flattens nested arrays.
    name: "array inside an array at the end of the path",
    applies: (filter, doc) =>
      conditionsOf(filter).some(({ path }) => leafValues(doc, path.split(".")).some(hasArrayInArray)),
  },
  {
    // MongoDB's $type tests each element of an array (and the array itself); mingo skips some elements.
    name: "$type on an array value",
    applies: (filter, doc) =>
      conditionsOf(filter).some(
        ({ path, condition }) =>
          mentions(condition, (k) => k === "$type") && leafValues(doc, path.split(".")).some(Array.isArray),
      ),
  },
  {
    // MongoDB tests the elements of an array found at the end of a dotted path that went through an array
    // ({"b.a": {$gte: 0}} matches {b: [{a: [0]}]}); mingo does not look inside that leaf array.
    name: "leaf array reached through an array",
    applies: (filter, doc) =>
      conditionsOf(filter).some(
        ({ path }) =>
          arrayOnPath(doc, path.split(".")) !== undefined &&
          leafValues(doc, path.split(".")).some(Array.isArray),
      ),
  },
  {
    // MongoDB: a dotted path through an array yields only its elements' values, so {"c.a": {$type: "array"}}
    // does not match {c: [{}]}; mingo tests the array it passed through.
    name: "$type on a dotted path through an array",
    applies: (filter, doc) =>
      conditionsOf(filter).some(
        ({ path, condition }) =>
          mentions(condition, (k) => k === "$type") && arrayOnPath(doc, path.split(".")) !== undefined,
      ),
  },
  {
    // MongoDB: a path holding [] yields the empty array itself, so {$in: [[]]} matches it and
    // {$nin: [[]]} does not; mingo gets both wrong for an empty array value.
    name: "$in/$nin listing an empty array",
    applies: (filter) =>
      conditionsOf(filter).some(({ condition }) =>
        mentions(
          condition,
          (k, v) =>
            (k === "$in" || k === "$nin") &&
            Array.isArray(v) &&
            v.some((e) => Array.isArray(e) && e.length === 0),
        ),
      ),
  },
  {
    // MongoDB's $elemMatch document form only considers document elements; mingo also matches
    // scalars ({b: {$elemMatch: {a: 0}}} matches {b: [0]} in mingo).
    name: "$elemMatch document form on an array holding non-documents",
    applies: (filter, doc) =>
      conditionsOf(filter).some(
        ({ path, condition }) =>
          mentions(
            condition,
            (k, v) => k === "$elemMatch" && isPlainObject(v) && !Object.keys(v)[0]?.startsWith("$"),
          ) &&
          leafValues(doc, path.split(".")).some((v) => Array.isArray(v) && v.some((e) => !isPlainObject(e))),
      ),
  },
  {
    // MongoDB: $mod only matches numbers, truncating doubles toward zero; mingo matches other types
    // (false, "", dates) and does not truncate.
    name: "$mod on non-integers",
    applies: (filter) =>
      conditionsOf(filter).some(({ condition }) => mentions(condition, (k) => k === "$mod")),
  },
  {
    // MongoDB orders documents field by field (type, then name, then value); mingo does not.
    name: "range comparison with a document or array operand",
    applies: (filter) =>
      conditionsOf(filter).some(({ condition }) =>
        mentions(condition, (k, v) => RANGE.has(k) && typeof v === "object" && v !== null),
      ),
  },
  {
    // MongoDB: $all is an $and of equalities, so it matches a non-array value equal to every element
    // (and missing for [null]); mingo requires an array.
    name: "$all on a non-array value",
    applies: (filter) =>
      conditionsOf(filter).some(({ condition }) => mentions(condition, (k) => k === "$all")),
  },
  {
    // MongoDB: $size and $elemMatch never match when a dotted path yields no array; mingo matches
    // $size 0 on paths through empty arrays and $elemMatch on scalar elements.
    name: "$size/$elemMatch on a dotted path",
    applies: (filter) =>
      conditionsOf(filter).some(
        ({ path, condition }) =>
          path.includes(".") && mentions(condition, (k) => k === "$size" || k === "$elemMatch"),
      ),
  },
];

function hasArrayInArray(value: unknown): boolean {
  return Array.isArray(value) && value.some((e) => Array.isArray(e));
}

/** The values reached by following `parts` through documents and arrays (all of them, loosely). */
function leafValues(value: unknown, parts: readonly string[]): unknown[] {
  if (parts.length === 0) return [value];
  if (Array.isArray(value)) return value.flatMap((e) => leafValues(e, parts));
  if (!isPlainObject(value)) return [];
  return leafValues(value[parts[0]], parts.slice(1));
}

/** Conditions that can be satisfied by a missing value (so how missing is yielded matters). */
function matchesMissing(condition: unknown): boolean {
  if (condition === null || (Array.isArray(condition) && condition.length === 0)) return true;
  return mentions(condition, (k, v) => {
    if (k === "$exists" || k === "$ne" || k === "$nin" || k === "$not") return true;
    if (k === "$eq" || k === "$gte" || k === "$lte")
      return v === null || (Array.isArray(v) && v.length === 0);
    if (k === "$in" || k === "$all") return Array.isArray(v) && v.includes(null);
    return false;
  });
}
