import { Long } from "bson";
import { bsonTypeOf } from "../../bson-types.ts";
import {
  addNumbers,
  DECIMAL,
  Decimal34,
  decimalOf,
  divideNumbers,
  DOUBLE,
  INT,
  isNumericValue,
  LONG,
  multiplyNumbers,
  numberOf,
  numericKind,
  subtractNumbers,
  toDecimal128,
} from "../../numeric.ts";
import type { Evaluator } from "../../types.ts";
import { compileArgs, type ExprContext, type OperatorCompiler } from "../context.ts";
import { foldConstants } from "../fold.ts";
import { compileRoundingOperator } from "../math/rounding.ts";
import { trigonometryOperators } from "../math/trigonometry.ts";
import { compileUnaryMath, formatNumber } from "../math/unary.ts";

/** Beyond this, a sum or product of integers is recomputed exactly (as a long) on the slow path. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const isNullish = (v: unknown): v is null | undefined => v === null || v === undefined;

/** Milliseconds to move a date by: numbers are rounded to the nearest millisecond, ties away from zero. */
function millisOf(value: unknown): number {
  const n = numberOf(value);
  return n < 0 ? -Math.round(-n) : Math.round(n);
}

function compileAdd(args: unknown, ctx: ExprContext): Evaluator {
  const items = compileArgs(args, ctx, 0, Infinity);
  const slow = (root: Parameters<Evaluator>[0], vars: Parameters<Evaluator>[1]): unknown => {
    let total: unknown = 0;
    // With a date, each number is rounded to whole milliseconds on its own, as MongoDB does.
    let millis = 0;
    let date: Date | undefined;
    for (const item of items) {
      const v = item(root, vars);
      if (isNullish(v)) return null;
      if (v instanceof Date) {
        if (date) throw ctx.runtimeError("only one date allowed in an $add expression", 16612);
        date = v;
      } else if (isNumericValue(v)) {
        total = addNumbers(total, v);
        millis += millisOf(v);
      } else {
        throw ctx.runtimeError(`$add only supports numeric or date types, not ${bsonTypeOf(v)}`, 16554);
      }
    }
    return date ? new Date(date.getTime() + millis) : total;
  };
  if (items.length !== 2) return slow;
  const [a, b] = items;
  return (root, vars) => {
    const x = a(root, vars);
    const y = b(root, vars);
    if (typeof x === "number" && typeof y === "number") {
      const r = x + y;
      if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
    }
    return slow(root, vars);
  };
}

function compileSubtract(args: unknown, ctx: ExprContext): Evaluator {
  const [a, b] = compileArgs(args, ctx, 2);
  return (root, vars) => {
    const x = a(root, vars);
    const y = b(root, vars);
    if (typeof x === "number" && typeof y === "number") {
      const r = x - y;
      if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
    }
    if (isNullish(x) || isNullish(y)) return null;
    const xNumeric = isNumericValue(x);
    const yNumeric = isNumericValue(y);
    if (xNumeric && yNumeric) return subtractNumbers(x, y);
    if (x instanceof Date) {
      if (y instanceof Date) return x.getTime() - y.getTime();
      if (yNumeric) return new Date(x.getTime() - millisOf(y));
      throw ctx.runtimeError(`can't $subtract ${bsonTypeOf(y)} from date`, 16556);
    }
    throw ctx.runtimeError(`can't $subtract ${bsonTypeOf(y)} from ${bsonTypeOf(x)}`, 16556);
  };
}

function compileMultiply(args: unknown, ctx: ExprContext): Evaluator {
  const items = compileArgs(args, ctx, 0, Infinity);
  const slow = (root: Parameters<Evaluator>[0], vars: Parameters<Evaluator>[1]): unknown => {
    let product: unknown = 1;
    for (const item of items) {
      const v = item(root, vars);
      if (isNullish(v)) return null;
      if (!isNumericValue(v))
        throw ctx.runtimeError(`$multiply only supports numeric types, not ${bsonTypeOf(v)}`, 16555);
      product = multiplyNumbers(product, v);
    }
    return product;
  };
  if (items.length !== 2) return slow;
  const [a, b] = items;
  return (root, vars) => {
    const x = a(root, vars);
    const y = b(root, vars);
    if (typeof x === "number" && typeof y === "number") {
      const r = x * y;
      if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
    }
    return slow(root, vars);
  };
}

function isZero(value: unknown): boolean {
  const kind = numericKind(value);
  if (kind === DECIMAL) return decimalOf(value).isZero();
  if (kind === LONG) return typeof value === "bigint" ? value === 0n : (value as Long).isZero();
  return numberOf(value) === 0;
}

/** Shared shape of `$divide` and `$mod`: null/missing ⇒ null, both numeric, a non-zero divisor. */
function compileDivision(
  code: number,
  zeroCode: number,
  op: (x: unknown, y: unknown) => unknown,
): OperatorCompiler {
  return (args, ctx) => {
    const [a, b] = compileArgs(args, ctx, 2);
    const name = ctx.operator;
    return (root, vars) => {
      const x = a(root, vars);
      const y = b(root, vars);
      if (typeof x === "number" && typeof y === "number" && y !== 0) return op(x, y);
      if (isNullish(x) || isNullish(y)) return null;
      if (!isNumericValue(x) || !isNumericValue(y)) {
        throw ctx.runtimeError(
          `${name} only supports numeric types, not ${bsonTypeOf(x)} and ${bsonTypeOf(y)}`,
          code,
        );
      }
      if (isZero(y)) throw ctx.runtimeError(`can't ${name} by zero`, zeroCode);
      return op(x, y);
    };
  };
}

/** `$mod`: the remainder with the dividend's sign (C `fmod`), in the wider operand type. */
function modNumbers(x: unknown, y: unknown): unknown {
  if (typeof x === "number" && typeof y === "number") return x % y;
  const kind = Math.max(numericKind(x), numericKind(y));
  if (kind === DECIMAL) return toDecimal128(decimalOf(x).mod(decimalOf(y)));
  if (kind === LONG) {
    const big = (v: unknown): bigint =>
      typeof v === "bigint" ? v : numericKind(v) === LONG ? (v as Long).toBigInt() : BigInt(numberOf(v));
    return Long.fromBigInt(big(x) % big(y));
  }
  return numberOf(x) % numberOf(y);
}

function compileAbs(args: unknown, ctx: ExprContext): Evaluator {
  return compileUnaryMath(args, ctx, {
    number: Math.abs,
    long: (v) => {
      if (v.equals(Long.MIN_VALUE)) throw ctx.runtimeError("can't take $abs of long long min", 28680);
      return v.isNegative() ? v.negate() : v;
    },
    decimal: (d) => d.abs(),
  });
}

function integerPreserving(fn: (x: number) => number, dec: (d: Decimal34) => Decimal34): OperatorCompiler {
  return (args, ctx) => compileUnaryMath(args, ctx, { number: fn, long: (v) => v, decimal: dec });
}

/** A numeric argument of `$pow`/`$log` with its role named in the type error. */
function numericArg(ctx: ExprContext, value: unknown, role: string, code: number): void {
  if (!isNumericValue(value))
    throw ctx.runtimeError(`${ctx.operator}'s ${role} must be numeric, not ${bsonTypeOf(value)}`, code);
}

function compileSqrt(args: unknown, ctx: ExprContext): Evaluator {
  const negative = (): never => {
    throw ctx.runtimeError("$sqrt's argument must be greater than or equal to 0", 28714);
  };
  return compileUnaryMath(args, ctx, {
    number: (x) => (x < 0 ? negative() : Math.sqrt(x)),
    decimal: (d) => (d.isNegative() && !d.isZero() ? negative() : d.sqrt()),
  });
}

/** `$ln`/`$log10`: the argument must be positive (NaN passes through). */
function compileLogarithm(
  fn: (x: number) => number,
  dec: (d: Decimal34) => Decimal34,
  code: number,
): OperatorCompiler {
  return (args, ctx) => {
    const check = (positive: boolean, shown: string): void => {
      if (!positive)
        throw ctx.runtimeError(`${ctx.operator}'s argument must be a positive number, but is ${shown}`, code);
    };
    return compileUnaryMath(args, ctx, {
      number: (x) => (check(x > 0 || x !== x, formatNumber(x)), fn(x)),
      decimal: (d) => (check(d.isNaN() || (d.isPositive() && !d.isZero()), d.toString()), dec(d)),
    });
  };
}

function compileLog(args: unknown, ctx: ExprContext): Evaluator {
  const [a, b] = compileArgs(args, ctx, 2);
  return (root, vars) => {
    const x = a(root, vars);
    const base = b(root, vars);
    if (isNullish(x) || isNullish(base)) return null;
    numericArg(ctx, x, "argument", 28756);
    numericArg(ctx, base, "base", 28757);
    if (numericKind(x) === DECIMAL || numericKind(base) === DECIMAL) {
      const dx = decimalOf(x);
      const db = decimalOf(base);
      if (!(dx.isNaN() || (dx.isPositive() && !dx.isZero()))) {
        throw ctx.runtimeError(`$log's argument must be a positive number, but is ${dx.toString()}`, 28758);
      }
      if (!(db.isNaN() || (db.isPositive() && !db.isZero() && !db.eq(1)))) {
        throw ctx.runtimeError(
          `$log's base must be a positive number not equal to 1, but is ${db.toString()}`,
          28759,
        );
      }
      return toDecimal128(dx.log(db));
    }
    const nx = numberOf(x);
    const nb = numberOf(base);
    if (!(nx > 0 || nx !== nx))
      throw ctx.runtimeError(`$log's argument must be a positive number, but is ${formatNumber(nx)}`, 28758);
    if (!((nb > 0 && nb !== 1) || nb !== nb)) {
      throw ctx.runtimeError(
        `$log's base must be a positive number not equal to 1, but is ${formatNumber(nb)}`,
        28759,
      );
    }
    return Math.log(nx) / Math.log(nb);
  };
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** `$pow`: integers stay exact while the result fits (int ⇒ number, beyond 2^53 ⇒ Long), else a double. */
function powNumbers(base: unknown, exponent: unknown): unknown {
  const kb = numericKind(base);
  const ke = numericKind(exponent);
  const kind = Math.max(kb, ke);
  if (kind === DECIMAL) return toDecimal128(decimalOf(base).pow(decimalOf(exponent)));
  const b = numberOf(base);
  const e = numberOf(exponent);
  if (kind === DOUBLE) return Math.pow(b, e);
  // Both integral: a negative exponent gives a fraction unless the base is 1 or -1.
  if (e < 0) {
    if (b === 1) return kind === LONG ? Long.fromNumber(1) : 1;
    if (b === -1) {
      const r = e % 2 === 0 ? 1 : -1;
      return kind === LONG ? Long.fromNumber(r) : r;
    }
    return Math.pow(b, e);
  }
  const bigBase = kb === LONG ? (typeof base === "bigint" ? base : (base as Long).toBigInt()) : BigInt(b);
  const bigExp =
    ke === LONG ? (typeof exponent === "bigint" ? exponent : (exponent as Long).toBigInt()) : BigInt(e);
  if (bigBase === 0n || bigBase === 1n) {
    const r = bigBase === 0n && bigExp === 0n ? 1n : bigBase;
    return kind === LONG ? Long.fromBigInt(r) : Number(r);
  }
  if (bigBase === -1n) {
    const r = bigExp % 2n === 0n ? 1n : -1n;
    return kind === LONG ? Long.fromBigInt(r) : Number(r);
  }
  if (bigExp > 64n) return Math.pow(b, e);
  const exact = bigBase ** bigExp;
  if (exact < INT64_MIN || exact > INT64_MAX) return Math.pow(b, e);
  if (kind === INT && exact >= BigInt(Number.MIN_SAFE_INTEGER) && exact <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(exact);
  return Long.fromBigInt(exact);
}

function compilePow(args: unknown, ctx: ExprContext): Evaluator {
  const [a, b] = compileArgs(args, ctx, 2);
  return (root, vars) => {
    const base = a(root, vars);
    const exponent = b(root, vars);
    if (isNullish(base) || isNullish(exponent)) return null;
    numericArg(ctx, base, "base", 28762);
    numericArg(ctx, exponent, "exponent", 28763);
    if (isZero(base) && numericKind(exponent) !== DECIMAL && numberOf(exponent) < 0) {
      throw ctx.runtimeError("$pow cannot take a base of 0 and a negative exponent", 28764);
    }
    if (isZero(base) && numericKind(exponent) === DECIMAL && decimalOf(exponent).isNegative()) {
      throw ctx.runtimeError("$pow cannot take a base of 0 and a negative exponent", 28764);
    }
    return powNumbers(base, exponent);
  };
}

const ceil = integerPreserving(Math.ceil, (d) => d.ceil());
const floor = integerPreserving(Math.floor, (d) => d.floor());

export const arithmeticOperators = foldConstants({
  $add: compileAdd,
  $subtract: compileSubtract,
  $multiply: compileMultiply,
  $divide: compileDivision(16609, 16608, divideNumbers),
  $mod: compileDivision(16611, 16610, modNumbers),
  $abs: compileAbs,
  $ceil: ceil,
  $floor: floor,
  $round: compileRoundingOperator(Decimal34.ROUND_HALF_EVEN),
  $trunc: compileRoundingOperator(Decimal34.ROUND_DOWN),
  $sqrt: compileSqrt,
  $pow: compilePow,
  $exp: (args, ctx) => compileUnaryMath(args, ctx, { number: Math.exp, decimal: (d) => d.exp() }),
  $ln: compileLogarithm(Math.log, (d) => d.ln(), 28766),
  $log10: compileLogarithm(Math.log10, (d) => d.log(10), 28761),
  $log: compileLog,
  ...trigonometryOperators,
});
