import type { Doc } from "../types.ts";
import { bindToPath, notClause, testClause } from "./clause.ts";
import { compileComparison, type ComparisonOperator } from "./comparison.ts";
import { isInheritedName, type PathTest } from "./path.ts";

type FastOperator = ComparisonOperator | "$ne";
const FAST_OPERATORS: ReadonlySet<string> = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]);

/**
 * The hot case of a top-level, undotted field compared with a literal number, string or boolean
 * (`{price: {$gt: 5}}`, `{status: "open"}`): one typeof check and one JS comparison, falling back to the
 * general path test for arrays, bson numbers and everything else. Undefined when the case does not apply.
 */
export function compileFastField(field: string, value: unknown): PathTest | undefined {
  if (field.includes(".") || isInheritedName(field)) return undefined;
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
  return build(field, op, rhs as number | string | boolean, kind, slow);
}

function build(
  field: string,
  op: FastOperator,
  r: number | string | boolean,
  kind: string,
  slow: PathTest,
): PathTest {
  const f = field;
  // Each branch is written out so the comparison is monomorphic; values of another type go to `slow`,
  // which applies type bracketing, null/missing and array traversal.
  switch (op) {
    case "$eq":
      return (doc: Doc) => {
        const v = doc[f];
        return typeof v === kind ? v === r : slow(doc);
      };
    case "$ne":
      return (doc: Doc) => {
        const v = doc[f];
        return typeof v === kind ? v !== r : slow(doc);
      };
    case "$gt":
      return (doc: Doc) => {
        const v = doc[f];
        return typeof v === kind ? (v as number) > (r as number) : slow(doc);
      };
    case "$gte":
      return (doc: Doc) => {
        const v = doc[f];
        return typeof v === kind ? (v as number) >= (r as number) : slow(doc);
      };
    case "$lt":
      return (doc: Doc) => {
        const v = doc[f];
        return typeof v === kind ? (v as number) < (r as number) : slow(doc);
      };
    case "$lte":
      return (doc: Doc) => {
        const v = doc[f];
        return typeof v === kind ? (v as number) <= (r as number) : slow(doc);
      };
  }
}
