import { Decimal } from "decimal.js";
import { Decimal128, Long } from "bson";
import { bsonTag } from "./bson-types.ts";

/**
 * MongoDB numeric arithmetic over every numeric value Eddy accepts: JS numbers, `bson` Long, Int32, Double,
 * Decimal128 (and bigint, read as a long). Result types follow MongoDB's widening rules:
 * - any Decimal128 operand ⇒ Decimal128 (34 significant digits, round half to even);
 * - otherwise any double operand (a non-integral JS number, NaN/±Infinity, or a `bson` Double) ⇒ JS number;
 * - otherwise, when a Long is involved, the exact integer result as a Long if it fits int64, else a double;
 * - plain integral JS numbers (int/long in MongoDB terms) stay JS numbers.
 */
export type NumericValue =
  number | bigint | Long | Decimal128 | { readonly _bsontype: "Int32" | "Double"; readonly value: number };

/** Decimal with Decimal128's precision and rounding. */
export const Decimal34 = Decimal.clone({
  precision: 34,
  rounding: Decimal.ROUND_HALF_EVEN,
  toExpNeg: -7,
  toExpPos: 34,
  minE: -6176,
  maxE: 6144,
});
export type Decimal34 = InstanceType<typeof Decimal34>;

/** How an operand takes part in arithmetic (ordered: the wider kind of two operands wins). */
export const INT = 0; // exact integer: integral JS number, Int32
export const LONG = 1; // bson Long or bigint
export const DOUBLE = 2; // floating point: non-integral or non-finite JS number, bson Double
export const DECIMAL = 3; // Decimal128
export const NOT_NUMERIC = -1;

/** True for JS numbers, bigint and the `bson` numeric classes. */
export function isNumericValue(value: unknown): value is NumericValue {
  if (typeof value === "number") return true;
  if (typeof value === "bigint") return true;
  if (typeof value !== "object" || value === null) return false;
  const tag = bsonTag(value);
  return tag === "Long" || tag === "Int32" || tag === "Double" || tag === "Decimal128";
}

/** The arithmetic kind of a value: {@link INT}, {@link LONG}, {@link DOUBLE}, {@link DECIMAL} or {@link NOT_NUMERIC}. */
export function numericKind(value: unknown): number {
  if (typeof value === "number") return Number.isInteger(value) ? INT : DOUBLE;
  if (typeof value === "bigint") return LONG;
  if (typeof value !== "object" || value === null) return NOT_NUMERIC;
  switch (bsonTag(value)) {
    case "Int32":
      return INT;
    case "Long":
      return LONG;
    case "Double":
      return DOUBLE;
    case "Decimal128":
      return DECIMAL;
    default:
      return NOT_NUMERIC;
  }
}

/** A numeric value as a JS number (Long beyond 2^53 and Decimal128 lose precision). */
export function numberOf(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  const tag = typeof value === "object" && value !== null ? bsonTag(value) : undefined;
  if (tag === "Int32" || tag === "Double") return (value as { value: number }).value;
  if (tag === "Long") return (value as Long).toNumber();
  if (tag === "Decimal128") return Number((value as Decimal128).toString());
  return NaN;
}

function bigintOf(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(value);
  if (bsonTag(value as object) === "Long") return (value as Long).toBigInt();
  return BigInt((value as { value: number }).value);
}

/**
 * A numeric value as a Decimal34. Doubles convert as MongoDB does (rounded to 15 significant digits), integers
 * and Decimal128 exactly.
 */
export function decimalOf(value: unknown): Decimal34 {
  if (typeof value === "number") {
    if (Number.isInteger(value) || !Number.isFinite(value)) return new Decimal34(value);
    return new Decimal34(value.toPrecision(15));
  }
  if (typeof value === "bigint") return new Decimal34(value.toString());
  const tag = typeof value === "object" && value !== null ? bsonTag(value) : undefined;
  if (tag === "Long") return new Decimal34((value as Long).toString());
  if (tag === "Int32") return new Decimal34((value as { value: number }).value);
  if (tag === "Double") return decimalOf((value as { value: number }).value);
  if (tag === "Decimal128") {
    const text = (value as Decimal128).toString();
    if (text === "NaN" || text === "-NaN") return new Decimal34(NaN);
    return new Decimal34(text);
  }
  return new Decimal34(NaN);
}

/** A decimal.js value as a Decimal128, rounded to 34 digits. */
export function toDecimal128(value: Decimal): Decimal128 {
  if (value.isNaN()) return Decimal128.fromString("NaN");
  if (!value.isFinite()) return Decimal128.fromString(value.isNegative() ? "-Infinity" : "Infinity");
  const text = value.isZero() && value.isNegative() ? "-0" : value.toString();
  return Decimal128.fromStringWithRounding(text);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function longOrDouble(exact: bigint): Long | number {
  return exact >= INT64_MIN && exact <= INT64_MAX ? Long.fromBigInt(exact) : Number(exact);
}

type Op = (a: unknown, b: unknown) => unknown;

function slowPath(
  a: unknown,
  b: unknown,
  doubles: (x: number, y: number) => number,
  longs: (x: bigint, y: bigint) => bigint,
  decimals: (x: Decimal34, y: Decimal34) => Decimal34,
): unknown {
  const ka = numericKind(a);
  const kb = numericKind(b);
  if (ka === NOT_NUMERIC || kb === NOT_NUMERIC) throw new TypeError("non-numeric operand");
  const kind = ka > kb ? ka : kb;
  if (kind === DECIMAL) return toDecimal128(decimals(decimalOf(a), decimalOf(b)));
  if (kind === DOUBLE) return doubles(numberOf(a), numberOf(b));
  if (kind === LONG) return longOrDouble(longs(bigintOf(a), bigintOf(b)));
  return exactIfIntegral(doubles(numberOf(a), numberOf(b)), a, b, longs);
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * `r`, computed in doubles from two integers, unless it left the safe-integer range: then the exact result,
 * a long (MongoDB widens int results that overflow to long, and longs to double only beyond int64).
 */
function exactIfIntegral(
  r: number,
  a: unknown,
  b: unknown,
  longs: (x: bigint, y: bigint) => bigint,
): unknown {
  if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
  if (!Number.isFinite(r) || !Number.isInteger(numberOf(a)) || !Number.isInteger(numberOf(b))) return r;
  return longOrDouble(longs(bigintOf(a), bigintOf(b)));
}

/** `a + b` with MongoDB's result type. Both operands must satisfy {@link isNumericValue}. */
export const addNumbers: Op = (a, b) => {
  if (typeof a === "number" && typeof b === "number") return exactIfIntegral(a + b, a, b, (x, y) => x + y);
  return slowPath(
    a,
    b,
    (x, y) => x + y,
    (x, y) => x + y,
    (x, y) => x.plus(y),
  );
};

/** `a - b` with MongoDB's result type. */
export const subtractNumbers: Op = (a, b) => {
  if (typeof a === "number" && typeof b === "number") return exactIfIntegral(a - b, a, b, (x, y) => x - y);
  return slowPath(
    a,
    b,
    (x, y) => x - y,
    (x, y) => x - y,
    (x, y) => x.minus(y),
  );
};

/** `a * b` with MongoDB's result type. */
export const multiplyNumbers: Op = (a, b) => {
  if (typeof a === "number" && typeof b === "number") return exactIfIntegral(a * b, a, b, (x, y) => x * y);
  return slowPath(
    a,
    b,
    (x, y) => x * y,
    (x, y) => x * y,
    (x, y) => x.times(y),
  );
};

/**
 * `a / b`: a double unless an operand is Decimal128 (then Decimal128), as `$divide` does. Division by zero is
 * not checked here (it yields ±Infinity/NaN); `$divide` rejects a zero divisor before calling this.
 */
export const divideNumbers: Op = (a, b) => {
  if (typeof a === "number" && typeof b === "number") return a / b;
  if (numericKind(a) === DECIMAL || numericKind(b) === DECIMAL)
    return toDecimal128(decimalOf(a).div(decimalOf(b)));
  if (!isNumericValue(a) || !isNumericValue(b)) throw new TypeError("non-numeric operand");
  return numberOf(a) / numberOf(b);
};
