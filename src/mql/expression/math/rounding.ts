import { Long } from "bson";
import { bsonTypeOf } from "../../bson-types.ts";
import {
  DECIMAL,
  Decimal34,
  decimalOf,
  DOUBLE,
  LONG,
  NOT_NUMERIC,
  numberOf,
  numericKind,
  toDecimal128,
} from "../../numeric.ts";
import type { Evaluator } from "../../types.ts";
import { compileArgs, type OperatorCompiler } from "../context.ts";

type Rounding = typeof Decimal34.ROUND_HALF_EVEN | typeof Decimal34.ROUND_DOWN;

/** Rounds `d` to `place` decimal places (negative: to tens, hundreds…), MongoDB's `quantize`. */
function quantize(d: Decimal34, place: number, mode: Rounding): Decimal34 {
  if (place >= 0) return d.toDecimalPlaces(place, mode);
  const factor = new Decimal34(10).pow(-place);
  return d.div(factor).toDecimalPlaces(0, mode).times(factor);
}

/** Round half to even at place 0; exact for doubles because ties are representable. */
function roundHalfEven(n: number): number {
  const floor = Math.floor(n);
  const diff = n - floor;
  const r = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  return r === 0 && (n < 0 || Object.is(n, -0)) ? -0 : r;
}

/** `a * b - p` exactly, for `p = a * b` rounded (Dekker's product, no overflow or underflow). */
function productError(a: number, b: number, p: number): number {
  const SPLIT = 134217729; // 2^27 + 1
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/**
 * Rounds a double to `place` (1…15) decimal places exactly as quantizing its decimal value would: the scaled
 * value `y = n·10^place` is rounded in binary, and its exact rounding error settles the only ambiguous cases
 * (y landing exactly on a boundary). Returns undefined outside the safe range.
 */
function fastRoundDouble(n: number, place: number, mode: Rounding): number | undefined {
  if (place < 1 || place > 15) return undefined;
  const factor = 10 ** place;
  const y = n * factor;
  const abs = Math.abs(y);
  if (!(abs < 2 ** 51) || (n !== 0 && Math.abs(n) < 1e-250)) return undefined;
  const err = productError(n, factor, y);
  const floor = Math.floor(y);
  let q: number;
  if (mode === Decimal34.ROUND_DOWN) {
    q = y < 0 ? Math.ceil(y) : floor;
    if (q === y) {
      if (y > 0 && err < 0) q -= 1;
      else if (y < 0 && err > 0) q += 1;
    }
  } else {
    const frac = y - floor;
    if (frac > 0.5) q = floor + 1;
    else if (frac < 0.5) q = floor;
    else q = err > 0 ? floor + 1 : err < 0 ? floor : floor % 2 === 0 ? floor : floor + 1;
  }
  const r = q / factor;
  return r === 0 && (n < 0 || Object.is(n, -0)) ? -0 : r;
}

const INT64_MIN = new Decimal34("-9223372036854775808");
const INT64_MAX = new Decimal34("9223372036854775807");

/** Rounds `x` to `place`; undefined when a long's result leaves the int64 range (MongoDB error 51080). */
function roundValue(x: unknown, place: number, mode: Rounding): unknown {
  const kind = numericKind(x);
  if (kind === DECIMAL) {
    const d = decimalOf(x);
    return d.isFinite() ? toDecimal128(quantize(d, place, mode)) : x;
  }
  if (kind === DOUBLE) {
    const n = numberOf(x);
    if (!Number.isFinite(n)) return n;
    if (place === 0) return mode === Decimal34.ROUND_DOWN ? Math.trunc(n) : roundHalfEven(n);
    const fast = fastRoundDouble(n, place, mode);
    if (fast !== undefined) return fast;
    // MongoDB converts the double exactly (34 digits), so 2.675 (really 2.67499…) rounds down.
    return quantize(new Decimal34(n.toPrecision(34)), place, mode).toNumber();
  }
  if (place >= 0) return typeof x === "number" ? x : kind === LONG ? x : numberOf(x);
  const exact = quantize(decimalOf(x), place, mode);
  if (kind !== LONG) return exact.toNumber();
  return exact.lt(INT64_MIN) || exact.gt(INT64_MAX) ? undefined : Long.fromString(exact.toFixed());
}

/** `$round` / `$trunc`: `[number, place?]`, place an integer in [-20, 100]. */
export function compileRoundingOperator(mode: Rounding): OperatorCompiler {
  return (args, ctx): Evaluator => {
    const [value, placeArg] = compileArgs(args, ctx, 1, 2);
    const name = ctx.operator;
    return (root, vars) => {
      const x = value(root, vars);
      if (x === null || x === undefined) return null;
      if (numericKind(x) === NOT_NUMERIC) {
        throw ctx.runtimeError(`${name} only supports numeric types, not ${bsonTypeOf(x)}`, 51081);
      }
      let place = 0;
      if (placeArg) {
        const p = placeArg(root, vars);
        if (p === null || p === undefined) return null;
        place = numberOf(p);
        if (numericKind(p) === NOT_NUMERIC || !Number.isInteger(place)) {
          throw ctx.runtimeError(`precision argument to  ${name} must be a integral value`, 51082);
        }
        if (place < -20 || place > 100) {
          throw ctx.runtimeError(
            `cannot apply ${name} with precision value ${place} value must be in [-20, 100]`,
            51083,
          );
        }
      }
      if (typeof x === "number" && place === 0) {
        if (Number.isInteger(x) || !Number.isFinite(x)) return x;
        return mode === Decimal34.ROUND_DOWN ? Math.trunc(x) : roundHalfEven(x);
      }
      const rounded = roundValue(x, place, mode);
      if (rounded === undefined) {
        throw ctx.runtimeError(
          `invalid conversion from Decimal128 result in ${name} resulting from arguments: [${String(x)}, ${place}]`,
          51080,
        );
      }
      return rounded;
    };
  };
}
