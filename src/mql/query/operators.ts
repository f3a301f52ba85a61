import { isNumber, toJsNumber } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import { compileAll, compileElemMatch, compileSize, type ArrayOperatorContext } from "./array.ts";
import { BITWISE_OPERATORS, compileBitwise, type BitwiseOperator } from "./bitwise.ts";
import { andClause, notClause, testClause, type Clause } from "./clause.ts";
import { compileComparison, compileIn, isOperatorObject, type ComparisonOperator } from "./comparison.ts";
import { compileType, exists } from "./element.ts";
import { compileMod } from "./evaluation.ts";
import { compileRegexTest, regexSpecOf, type RegexSpec } from "./regex.ts";

const COMPARISONS: ReadonlySet<string> = new Set(["$eq", "$gt", "$gte", "$lt", "$lte"]);
const GEO_OPERATORS: ReadonlySet<string> = new Set([
  "$near",
  "$nearSphere",
  "$geoWithin",
  "$geoIntersects",
  "$within",
  "$box",
  "$center",
  "$centerSphere",
  "$polygon",
  "$geometry",
  "$maxDistance",
  "$minDistance",
]);

/** `{path: value}` with a non-operator value: implicit `$eq`, or a regex match for a regex value. */
export function compileImplicit(value: unknown, path: string): Clause {
  const spec = regexSpecOf(value);
  if (spec) return testClause(compileRegexTest(spec, path));
  return testClause(compileComparison("$eq", value));
}

/**
 * Compiles an operator object such as `{$gt: 1, $lt: 5}` (all keys operators) into one clause.
 * `path` is the JSON path of the object; each operator's errors name `<path>.<operator>`.
 */
export function compileOperators(
  spec: Record<string, unknown>,
  path: string,
  ctx: ArrayOperatorContext,
): Clause {
  const clauses: Clause[] = [];
  for (const op of Object.keys(spec)) {
    const arg = spec[op];
    const opPath = `${path}.${op}`;
    if (op === "$options") {
      if (!("$regex" in spec)) throw new MqlCompileError(opPath, "$options needs a $regex");
      continue;
    }
    clauses.push(compileOperator(op, arg, opPath, spec, ctx));
  }
  if (clauses.length === 0) return { kind: "const", value: true };
  return andClause(clauses);
}

function compileOperator(
  op: string,
  arg: unknown,
  opPath: string,
  spec: Record<string, unknown>,
  ctx: ArrayOperatorContext,
): Clause {
  if (COMPARISONS.has(op)) return testClause(compileComparison(op as ComparisonOperator, arg));
  switch (op) {
    case "$ne":
      if (regexSpecOf(arg)) throw new MqlCompileError(opPath, "Can't have regex as arg to $ne");
      return notClause(testClause(compileComparison("$eq", arg)));
    case "$in":
      return testClause(compileIn(arg, opPath, "$in"));
    case "$nin":
      return notClause(testClause(compileIn(arg, opPath, "$nin")));
    case "$exists":
      return isFalsy(arg) ? notClause(testClause(exists)) : testClause(exists);
    case "$type":
      return testClause(compileType(arg, opPath));
    case "$regex":
      return testClause(compileRegexTest(regexOperand(arg, spec.$options, opPath), opPath));
    case "$mod":
      return testClause(compileMod(arg, opPath));
    case "$size":
      return compileSize(arg, opPath);
    case "$all":
      return compileAll(arg, opPath, ctx);
    case "$elemMatch":
      return compileElemMatch(arg, opPath, ctx);
    case "$not":
      return notClause(compileNot(arg, opPath, ctx));
  }
  if (BITWISE_OPERATORS.has(op)) return testClause(compileBitwise(op as BitwiseOperator, arg, opPath));
  if (GEO_OPERATORS.has(op))
    throw new MqlCompileError(opPath, `geospatial operator '${op}' is not supported`);
  throw new MqlCompileError(opPath, `unknown operator '${op}'`);
}

function compileNot(arg: unknown, path: string, ctx: ArrayOperatorContext): Clause {
  const spec = regexSpecOf(arg);
  if (spec) return testClause(compileRegexTest(spec, path));
  if (typeof arg !== "object" || arg === null || Array.isArray(arg)) {
    throw new MqlCompileError(path, "$not needs a regex or a document");
  }
  const keys = Object.keys(arg);
  if (keys.length === 0) throw new MqlCompileError(path, "$not cannot be empty");
  if (!isOperatorObject(arg))
    throw new MqlCompileError(`${path}.${keys[0]}`, `unknown operator '${keys[0]}'`);
  return compileOperators(arg, path, ctx);
}

/** `$regex` with its optional `$options`: a string pattern or a regex value (not both carrying options). */
function regexOperand(arg: unknown, options: unknown, path: string): RegexSpec {
  if (options !== undefined && typeof options !== "string")
    throw new MqlCompileError(path, "$options has to be a string");
  const extra = options ?? "";
  if (typeof arg === "string") return { pattern: arg, options: extra };
  const spec = regexSpecOf(arg);
  if (!spec) throw new MqlCompileError(path, "$regex has to be a string");
  if (spec.options && extra) throw new MqlCompileError(path, "options set in both $regex and $options");
  return { pattern: spec.pattern, options: spec.options || extra };
}

/** `$exists` takes any value; false, null and numeric zero mean "does not exist". */
function isFalsy(arg: unknown): boolean {
  return arg === false || arg === null || arg === undefined || (isNumber(arg) && toJsNumber(arg) === 0);
}
