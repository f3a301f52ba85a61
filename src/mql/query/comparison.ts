import { bsonTag, bsonTypeOf, canonicalRank, isNumber } from "../bson-types.ts";
import { compareValues, toDecimal, valuesEqual } from "../compare.ts";
import { MqlCompileError } from "../errors.ts";
import type { ValueTest } from "./path.ts";
import { compileRegexTest, regexSpecOf } from "./regex.ts";

export type ComparisonOperator = "$eq" | "$gt" | "$gte" | "$lt" | "$lte";

const NULL_RANK = 5;

/** NaN as a double or a Decimal128 (MongoDB's comparison special case). */
function isNaNValue(value: unknown): boolean {
  if (typeof value === "number") return value !== value;
  if (typeof value !== "object" || value === null) return false;
  const tag = bsonTag(value);
  if (tag === "Double") return Number.isNaN((value as { value: number }).value);
  return tag === "Decimal128" && toDecimal(value).isNaN();
}

function verdict(op: ComparisonOperator, order: number): boolean {
  switch (op) {
    case "$eq":
      return order === 0;
    case "$gt":
      return order > 0;
    case "$gte":
      return order >= 0;
    case "$lt":
      return order < 0;
    case "$lte":
      return order <= 0;
  }
}

/**
 * `ComparisonMatchExpression::matchesSingleElement`: values of a different canonical type never match
 * (type bracketing), except null against missing/undefined ($eq, $lte, $gte) and MinKey/MaxKey operands,
 * which sit below/above everything. NaN equals NaN but is neither less nor greater than anything.
 */
export function compileComparison(op: ComparisonOperator, rhs: unknown): ValueTest {
  const rhsType = bsonTypeOf(rhs);
  const rhsRank = canonicalRank(rhsType);
  const includesEqual = op === "$eq" || op === "$gte" || op === "$lte";
  const rhsNaN = isNaNValue(rhs);
  const otherRank = (rank: number): boolean => {
    if (rank + rhsRank === NULL_RANK) return includesEqual;
    if (rhsType === "maxKey") return op === "$lt" || op === "$lte";
    if (rhsType === "minKey") return op === "$gt" || op === "$gte";
    return false;
  };
  if (typeof rhs === "number" && !rhsNaN) return compileNumberComparison(op, rhs);
  if (typeof rhs === "string") return compileStringComparison(op, rhs);
  if (rhs === null && op === "$eq") return (value) => value === null || value === undefined;
  if (rhs instanceof Date && !Number.isNaN(rhs.getTime())) {
    // Time-window filters on event timestamps are common: compare epoch milliseconds directly.
    const t = rhs.getTime();
    return (value) => value instanceof Date && verdict(op, value.getTime() - t);
  }
  return (value) => {
    const rank = canonicalRank(bsonTypeOf(value));
    if (rank !== rhsRank) return otherRank(rank);
    if (op !== "$eq" && (rhsNaN || isNaNValue(value))) return rhsNaN && isNaNValue(value) && includesEqual;
    return verdict(op, compareValues(value, rhs));
  };
}

function compileNumberComparison(op: ComparisonOperator, n: number): ValueTest {
  const slow = (value: unknown): boolean => {
    if (!isNumber(value) || isNaNValue(value)) return false;
    return verdict(op, compareValues(value, n));
  };
  switch (op) {
    case "$eq":
      return (v) => (typeof v === "number" ? v === n : typeof v === "object" && v !== null && slow(v));
    case "$gt":
      return (v) => (typeof v === "number" ? v > n : typeof v === "object" && v !== null && slow(v));
    case "$gte":
      return (v) => (typeof v === "number" ? v >= n : typeof v === "object" && v !== null && slow(v));
    case "$lt":
      return (v) => (typeof v === "number" ? v < n : typeof v === "object" && v !== null && slow(v));
    case "$lte":
      return (v) => (typeof v === "number" ? v <= n : typeof v === "object" && v !== null && slow(v));
  }
}

function compileStringComparison(op: ComparisonOperator, s: string): ValueTest {
  // Symbols share the string rank; Eddy only sees them as bson BSONSymbol objects.
  const slow = (v: unknown): boolean => bsonTypeOf(v) === "symbol" && verdict(op, compareValues(v, s));
  switch (op) {
    case "$eq":
      return (v) => (typeof v === "string" ? v === s : typeof v === "object" && v !== null && slow(v));
    case "$gt":
      return (v) => (typeof v === "string" ? v > s : typeof v === "object" && v !== null && slow(v));
    case "$gte":
      return (v) => (typeof v === "string" ? v >= s : typeof v === "object" && v !== null && slow(v));
    case "$lt":
      return (v) => (typeof v === "string" ? v < s : typeof v === "object" && v !== null && slow(v));
    case "$lte":
      return (v) => (typeof v === "string" ? v <= s : typeof v === "object" && v !== null && slow(v));
  }
}

/**
 * `$in` (`InMatchExpression`): equality with any listed value, a regex match for listed regexes, and
 * missing/undefined when the list holds null. `path` names the `$in`/`$nin` operator in errors.
 */
export function compileIn(list: unknown, path: string, name: string): ValueTest {
  if (!Array.isArray(list)) throw new MqlCompileError(path, `${name} needs an array`);
  const primitives = new Set<unknown>();
  const others: unknown[] = [];
  const regexes: ValueTest[] = [];
  let hasNull = false;
  list.forEach((item: unknown, i) => {
    const spec = regexSpecOf(item);
    if (spec) {
      regexes.push(compileRegexTest(spec, `${path}[${i}]`));
    } else if (isOperatorObject(item)) {
      throw new MqlCompileError(`${path}[${i}]`, `cannot nest $ under ${name}`);
    } else if (item === null) {
      hasNull = true;
    } else if (typeof item === "string" || typeof item === "boolean" || typeof item === "number") {
      primitives.add(item);
    } else {
      others.push(item);
    }
  });
  return (value) => {
    if (primitives.has(value)) return true;
    if (value === null || value === undefined) return hasNull;
    if (typeof value === "string" && others.length === 0) {
      for (let i = 0; i < regexes.length; i++) if (regexes[i](value)) return true;
      return false;
    }
    for (let i = 0; i < others.length; i++) if (valuesEqual(value, others[i])) return true;
    if (typeof value === "number" && primitives.size > 0 && value !== value) return primitives.has(NaN);
    if (isNumber(value) && typeof value === "object") {
      for (const p of primitives) if (typeof p === "number" && valuesEqual(value, p)) return true;
    }
    for (let i = 0; i < regexes.length; i++) if (regexes[i](value)) return true;
    return false;
  };
}

/** An object whose first key starts with `$` (an operator expression rather than a literal document). */
export function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  if (value instanceof Date || value instanceof RegExp || bsonTag(value) !== undefined) return false;
  for (const key in value) return key.startsWith("$");
  return false;
}
