import { Long } from "bson";
import { bsonTypeOf } from "../../bson-types.ts";
import {
  DECIMAL,
  type Decimal34,
  decimalOf,
  LONG,
  NOT_NUMERIC,
  numberOf,
  numericKind,
  toDecimal128,
} from "../../numeric.ts";
import type { Evaluator } from "../../types.ts";
import { compileArgs, type ExprContext } from "../context.ts";

export interface UnaryMath {
  /** Applied to JS numbers, Int32 and Double (and to Long when there is no `long` handler). */
  readonly number: (x: number) => number;
  /** Applied to Long (and bigint, as a Long) when the operation keeps integers exact. */
  readonly long?: (x: Long) => Long | number;
  readonly decimal: (x: Decimal34) => Decimal34;
}

/**
 * A one-argument numeric operator (`evaluateSingleNumericArg`): null/missing ⇒ null, a non-number is a type
 * error, Decimal128 stays Decimal128.
 */
export function compileUnaryMath(args: unknown, ctx: ExprContext, math: UnaryMath, code = 28765): Evaluator {
  const [arg] = compileArgs(args, ctx, 1);
  const { number, long, decimal } = math;
  return (root, vars) => {
    const x = arg(root, vars);
    if (typeof x === "number") return number(x);
    if (x === null || x === undefined) return null;
    const kind = numericKind(x);
    if (kind === NOT_NUMERIC) {
      throw ctx.runtimeError(`${ctx.operator} only supports numeric types, not ${bsonTypeOf(x)}`, code);
    }
    if (kind === DECIMAL) return toDecimal128(decimal(decimalOf(x)));
    if (kind === LONG && long) return long(asLong(x));
    return number(numberOf(x));
  };
}

function asLong(x: unknown): Long {
  return typeof x === "bigint" ? Long.fromBigInt(x) : (x as Long);
}

/** A double as C++'s `ostream << double` prints it (`%g`: 6 significant digits), used in error messages. */
export function formatNumber(x: number): string {
  if (x !== x) return "nan";
  if (!Number.isFinite(x)) return x < 0 ? "-inf" : "inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa, exponentText] = x.toExponential(5).split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const digits = String(Math.abs(exponent)).padStart(2, "0");
    return `${stripZeros(mantissa)}e${exponent < 0 ? "-" : "+"}${digits}`;
  }
  return stripZeros(x.toFixed(5 - exponent));
}

function stripZeros(text: string): string {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}
