import type { ObjectId, Timestamp } from "bson";
import { bsonTag, bsonTypeOf, isNumber, toJsNumber } from "../../bson-types.ts";
import type { Evaluator, Vars, Doc } from "../../types.ts";
import type { ExprContext } from "../context.ts";
import { lookupTimeZone, UTC, type TimeZone } from "./timezone.ts";

/** Milliseconds since the epoch of a Date, Timestamp or ObjectId; throws MongoDB's conversion error otherwise. */
export function dateToMs(value: unknown, ctx: ExprContext): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "object" && value !== null) {
    const tag = bsonTag(value);
    if (tag === "Timestamp") return (value as Timestamp).t * 1000;
    if (tag === "ObjectId") return (value as ObjectId).getTimestamp().getTime();
  }
  throw ctx.runtimeError(`can't convert from BSON type ${bsonTypeOf(value)} to Date`, 16006);
}

export function isNullish(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** `int with value 5`, `string with value "x"`: how MongoDB describes a bad argument. */
export function describeTyped(value: unknown): string {
  const type = bsonTypeOf(value);
  if (type === "missing") return "missing";
  const shown =
    typeof value === "string"
      ? JSON.stringify(value)
      : value instanceof Date
        ? value.toISOString()
        : String(value);
  return `${type} with value ${shown}`;
}

/** A compiled `timezone` argument: the zone, or null when the argument evaluated to null/missing. */
export type ZoneEvaluator = (root: Doc, vars: Vars) => TimeZone | null;

const utcEvaluator: ZoneEvaluator = () => UTC;

/** A constant string expression (not a field path or variable), or undefined. */
export function constantString(expr: unknown): string | undefined {
  return typeof expr === "string" && !expr.startsWith("$") ? expr : undefined;
}

/**
 * An argument whose value is read first and checked later, so an operator can return null when any of its
 * arguments is null or missing before it type-checks the others (MongoDB's `$dateDiff`, `$dateTrunc`…).
 */
export interface DeferredArg<T> {
  /** The argument's value as evaluated (constants are returned as written). */
  readonly raw: Evaluator;
  /** Validates a non-null value, with MongoDB's runtime error when it is invalid. */
  readonly check: (value: unknown) => T;
}

/**
 * Compiles a `timezone` argument. A constant is resolved now (unknown zone ⇒ compile error); otherwise
 * it is resolved per document with MongoDB's runtime errors. Absent ⇒ UTC.
 */
export function compileTimeZoneArg(expr: unknown, ctx: ExprContext, path: string): DeferredArg<TimeZone> {
  if (expr === undefined) return { raw: () => "UTC", check: () => UTC };
  const constant = constantString(expr);
  if (constant !== undefined) {
    const zone = lookupTimeZone(constant);
    if (!zone) throw ctx.error(`unrecognized time zone identifier: "${constant}"`, path);
    return { raw: () => constant, check: () => zone };
  }
  return {
    raw: expr === null ? () => null : ctx.compile(expr, path),
    check: (name) => {
      if (typeof name !== "string") {
        throw ctx.runtimeError(`timezone must evaluate to a string, found ${bsonTypeOf(name)}`, 40517);
      }
      const zone = lookupTimeZone(name);
      if (!zone) throw ctx.runtimeError(`unrecognized time zone identifier: "${name}"`, 40485);
      return zone;
    },
  };
}

/** {@link compileTimeZoneArg} evaluated at once: the zone, or null when the argument is null or missing. */
export function compileTimeZone(expr: unknown, ctx: ExprContext, path: string): ZoneEvaluator {
  if (expr === undefined) return utcEvaluator;
  const { raw, check } = compileTimeZoneArg(expr, ctx, path);
  return (root, vars) => {
    const name = raw(root, vars);
    return isNullish(name) ? null : check(name);
  };
}

/** An integral JS number from a numeric value, or undefined when it is not numeric or not integral. */
export function integralValue(value: unknown): number | undefined {
  if (!isNumber(value)) return undefined;
  const n = toJsNumber(value);
  return Number.isInteger(n) ? n : undefined;
}

/** Compiles an optional argument; absent ⇒ evaluator returning `fallback`. */
export function compileOptional(expr: unknown, ctx: ExprContext, path: string, fallback: unknown): Evaluator {
  return expr === undefined ? () => fallback : ctx.compile(expr, path);
}
