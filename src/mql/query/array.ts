import { bsonTag, isNumber, isPlainObject, toJsNumber } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import type { Doc } from "../types.ts";
import { andClause, bindToValue, testClause, type Clause } from "./clause.ts";
import { compileComparison, isOperatorObject } from "./comparison.ts";
import type { ValueTest } from "./path.ts";
import { compileRegexTest, regexSpecOf } from "./regex.ts";

/** Compilers the array operators need from the rest of the query compiler. */
export interface ArrayOperatorContext {
  /** Compiles an operator object (`{$gt: 1, $lt: 5}`) into a clause. */
  compileOperators(spec: Record<string, unknown>, path: string): Clause;
  /** Compiles a query filter applied to each array element (`$elemMatch` document form). */
  compileElementFilter(filter: Record<string, unknown>, path: string): (doc: Doc) => boolean;
  /** True for operators that take no path ($and, $or, $expr…), which make `$elemMatch` use its document form. */
  isPathless(name: string): boolean;
}

/** `$size`: an array with exactly `n` elements (the array itself, not its elements). */
export function compileSize(arg: unknown, path: string): Clause {
  if (!isNumber(arg)) throw new MqlCompileError(path, "$size needs a number");
  const n = toJsNumber(arg);
  if (typeof arg === "object" && bsonTag(arg as object) === "Long" && !Number.isSafeInteger(n)) {
    throw new MqlCompileError(path, "$size must be representable as a 32-bit integer");
  }
  if (!Number.isInteger(n)) throw new MqlCompileError(path, "$size must be a whole number");
  if (n < 0) throw new MqlCompileError(path, "$size may not be negative");
  return testClause((value) => Array.isArray(value) && value.length === n, true);
}

/**
 * `$elemMatch`: some element of the array satisfies all the operators (value form, `{$gt: 1}`) or is a
 * document matching the filter (document form, `{b: 1}` or one with $and/$or/…).
 */
export function compileElemMatch(arg: unknown, path: string, ctx: ArrayOperatorContext): Clause {
  if (!isPlainObject(arg)) throw new MqlCompileError(path, "$elemMatch needs an Object");
  const first = Object.keys(arg)[0];
  let element: ValueTest;
  if (first !== undefined && first.startsWith("$") && !ctx.isPathless(first)) {
    element = bindToValue(ctx.compileOperators(arg, path));
  } else {
    const filter = ctx.compileElementFilter(arg, path);
    element = (value) => isPlainObject(value) && filter(value);
  }
  return testClause((value) => {
    if (!Array.isArray(value)) return false;
    for (let i = 0; i < value.length; i++) if (element(value[i])) return true;
    return false;
  }, true);
}

/**
 * `$all`: the path matches every listed value (as `$eq`, or as a regex), or every listed `$elemMatch`.
 * An empty list matches nothing.
 */
export function compileAll(arg: unknown, path: string, ctx: ArrayOperatorContext): Clause {
  if (!Array.isArray(arg)) throw new MqlCompileError(path, "$all needs an array");
  if (arg.length === 0) return { kind: "const", value: false };
  const firstIsElemMatch = isOperatorObject(arg[0]) && Object.keys(arg[0])[0] === "$elemMatch";
  const clauses = arg.map((item: unknown, i): Clause => {
    const itemPath = `${path}[${i}]`;
    if (firstIsElemMatch) {
      if (!isOperatorObject(item) || Object.keys(item).length !== 1 || !("$elemMatch" in item)) {
        throw new MqlCompileError(itemPath, "$all/$elemMatch has to be consistent");
      }
      return compileElemMatch(item.$elemMatch, `${itemPath}.$elemMatch`, ctx);
    }
    const spec = regexSpecOf(item);
    if (spec) return testClause(compileRegexTest(spec, itemPath));
    if (isOperatorObject(item)) throw new MqlCompileError(itemPath, "no $ expressions in $all");
    return testClause(compileComparison("$eq", item));
  });
  return andClause(clauses);
}
