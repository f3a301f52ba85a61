import { Decimal34, numberOf } from "../../numeric.ts";
import type { Evaluator } from "../../types.ts";
import { compileArgs, type ExprContext, type OperatorCompiler } from "../context.ts";
import { bsonTypeOf } from "../../bson-types.ts";
import { DECIMAL, decimalOf, NOT_NUMERIC, numericKind, toDecimal128 } from "../../numeric.ts";
import { compileUnaryMath, formatNumber } from "./unary.ts";

/** An input range a bounded function accepts, checked against every non-NaN input. */
interface Bounds {
  readonly text: string;
  readonly accepts: (x: number) => boolean;
}

const FINITE: Bounds = { text: "(-inf,inf)", accepts: Number.isFinite };
const UNIT: Bounds = { text: "[-1,1]", accepts: (x) => x >= -1 && x <= 1 };
const AT_LEAST_ONE: Bounds = { text: "[1,inf]", accepts: (x) => x >= 1 };

function trig(
  fn: (x: number) => number,
  dec: (d: Decimal34) => Decimal34,
  bounds?: Bounds,
): OperatorCompiler {
  return (args, ctx) => {
    const check = (x: number): void => {
      if (bounds && !bounds.accepts(x) && x === x) {
        throw ctx.runtimeError(
          `cannot apply ${ctx.operator} to ${formatNumber(x)}, value must be in ${bounds.text}`,
          50989,
        );
      }
    };
    return compileUnaryMath(args, ctx, {
      number: (x) => (check(x), fn(x)),
      decimal: (d) => (check(d.toNumber()), dec(d)),
    });
  };
}

const PI_OVER_180 = Decimal34.acos(-1).div(180);
const D180_OVER_PI = new Decimal34(180).div(Decimal34.acos(-1));

function compileAtan2(args: unknown, ctx: ExprContext): Evaluator {
  const [a, b] = compileArgs(args, ctx, 2);
  const numeric = (v: unknown, code: number): void => {
    if (numericKind(v) === NOT_NUMERIC) {
      throw ctx.runtimeError(`$atan2 only supports numeric types, not ${bsonTypeOf(v)}`, code);
    }
  };
  return (root, vars) => {
    const y = a(root, vars);
    if (y === null || y === undefined) return null;
    numeric(y, 51044);
    const x = b(root, vars);
    if (x === null || x === undefined) return null;
    numeric(x, 51045);
    if (numericKind(y) === DECIMAL || numericKind(x) === DECIMAL)
      return toDecimal128(Decimal34.atan2(decimalOf(y), decimalOf(x)));
    return Math.atan2(numberOf(y), numberOf(x));
  };
}

export const trigonometryOperators: Readonly<Record<string, OperatorCompiler>> = {
  $sin: trig(Math.sin, (d) => d.sin(), FINITE),
  $cos: trig(Math.cos, (d) => d.cos(), FINITE),
  $tan: trig(Math.tan, (d) => d.tan(), FINITE),
  $asin: trig(Math.asin, (d) => d.asin(), UNIT),
  $acos: trig(Math.acos, (d) => d.acos(), UNIT),
  $atan: trig(Math.atan, (d) => d.atan()),
  $atan2: compileAtan2,
  $sinh: trig(Math.sinh, (d) => d.sinh()),
  $cosh: trig(Math.cosh, (d) => d.cosh()),
  $tanh: trig(Math.tanh, (d) => d.tanh()),
  $asinh: trig(Math.asinh, (d) => d.asinh()),
  $acosh: trig(Math.acosh, (d) => d.acosh(), AT_LEAST_ONE),
  $atanh: trig(Math.atanh, (d) => d.atanh(), UNIT),
  $degreesToRadians: (args, ctx) =>
    compileUnaryMath(args, ctx, { number: (x) => x * (Math.PI / 180), decimal: (d) => d.times(PI_OVER_180) }),
  $radiansToDegrees: (args, ctx) =>
    compileUnaryMath(args, ctx, {
      number: (x) => x * (180 / Math.PI),
      decimal: (d) => d.times(D180_OVER_PI),
    }),
};
