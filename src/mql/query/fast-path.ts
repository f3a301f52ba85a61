import type { Doc } from "../types.ts";
import { bindToPath, notClause, testClause } from "./clause.ts";
import { compileComparison, type ComparisonOperator } from "./comparison.ts";
import { isInheritedName, type PathTest } from "./path.ts";

type FastOperator = ComparisonOperator | "$ne";
const FAST_OPERATORS: ReadonlySet<string> = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]);

/**
 * The hot case of a field (top-level or a dotted path through plain subdocuments) compared with a literal
 * number, string or boolean (`{price: {$gt: 5}}`, `{"obs.watts": {$gte: 20}}`, `{status: "open"}`): a few
 * property reads, one typeof check and one JS comparison, falling back to the general path test for arrays,
 * bson values and everything else. Undefined when the case does not apply.
 */
export function compileFastField(field: string, value: unknown): PathTest | undefined {
  const parts = field.split(".");
  if (parts.some((part) => part === "" || isInheritedName(part))) return undefined;
  let op: FastOperator = "$eq";
  let rhs = value;
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value);
    if (keys.length !== 1 || !FAST_OPERATORS.has(keys[0])) return undefined;
    op = keys[0] as FastOperator;
    rhs = (value as Record<string, unknown>)[op];
  }
  if (
    !(typeof rhs === "number" && rhs === rhs) &&
    typeof rhs !== "string" &&
    !(op === "$eq" && typeof rhs === "boolean")
  ) {
    return undefined;
  }
  const eq = testClause(compileComparison(op === "$ne" ? "$eq" : op, rhs));
  const slow = bindToPath(field, op === "$ne" ? notClause(eq) : eq);
  const kind = typeof rhs;
  return build(fastReader(parts), op, rhs as number | string | boolean, kind, slow);
}

/**
 * Reads a path through plain subdocuments only; anything else on the way (an array, a bson value…) yields
 * undefined, which sends the document to the general path test.
 */
function fastReader(parts: readonly string[]): (doc: Doc) => unknown {
  if (parts.length === 1) {
    const [a] = parts;
    return (doc) => doc[a];
  }
  if (parts.length === 2) {
    const [a, b] = parts;
    return (doc) => {
      const o = doc[a];
      return typeof o === "object" && o !== null && Object.getPrototypeOf(o) === Object.prototype
        ? (o as Doc)[b]
        : undefined;
    };
  }
  return (doc) => {
    let o: unknown = doc;
    for (const part of parts) {
      if (
        typeof o !== "object" ||
        o === null ||
        (o !== doc && Object.getPrototypeOf(o) !== Object.prototype)
      ) {
        return undefined;
      }
      o = (o as Doc)[part];
    }
    return o;
  };
}

function build(
  read: (doc: Doc) => unknown,
  op: FastOperator,
  r: number | string | boolean,
  kind: string,
  slow: PathTest,
): PathTest {
  // Each branch is written out so the comparison is monomorphic; values of another type go to `slow`,
  // which applies type bracketing, null/missing and array traversal.
  switch (op) {
    case "$eq":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? v === r : slow(doc);
      };
    case "$ne":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? v !== r : slow(doc);
      };
    case "$gt":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? (v as number) > (r as number) : slow(doc);
      };
    case "$gte":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? (v as number) >= (r as number) : slow(doc);
      };
    case "$lt":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? (v as number) < (r as number) : slow(doc);
      };
    case "$lte":
      return (doc: Doc) => {
        const v = read(doc);
        return typeof v === kind ? (v as number) <= (r as number) : slow(doc);
      };
  }
}
