import { describeForMessage } from "./describe.ts";
import { compareValues } from "../compare.ts";
import { isPlainObject } from "../bson-types.ts";
import { DECIMAL, decimalOf, isNumericValue, LONG, numberOf, numericKind } from "../numeric.ts";

const TWO_63 = "9223372036854775808";
import { insertBounded, mergeBounded } from "./ranked.ts";
import { approximateSize } from "./state-size.ts";
import {
  type AccumulatorCompiler,
  type AccumulatorContext,
  type AccumulatorSpec,
  opaqueSpec,
} from "./types.ts";

/** Checks an `n` value; returns the count or an error detail in MongoDB's words. */
export function validateN(value: unknown): number | string {
  if (!isNumericValue(value))
    return `Value for 'n' must be of integral type, but found ${describeForMessage(value)}`;
  // Any positive 64-bit integer is accepted (MongoDB's `integral64Bit`); beyond 2^53 a count only means "all".
  const kind = numericKind(value);
  const n = numberOf(value);
  const integral =
    kind === LONG ||
    (kind === DECIMAL
      ? decimalOf(value).isInteger() && decimalOf(value).abs().lt(TWO_63)
      : Number.isInteger(n) && Math.abs(n) < 2 ** 63);
  if (!integral) return `Value for 'n' must be of integral type, but found ${describeForMessage(value)}`;
  if (n <= 0) return `'n' must be greater than 0, found ${n}`;
  return Math.min(n, Number.MAX_SAFE_INTEGER);
}

/** Reads a constant `n` from a group accumulator's arguments (a literal positive integer). */
export function constantN(args: Record<string, unknown>, ctx: AccumulatorContext): number {
  const n = validateN(args.n);
  if (typeof n === "string") {
    const hint =
      typeof args.n === "string" || isPlainObject(args.n) ? " (Eddy requires a constant n in $group)" : "";
    throw ctx.error(n + hint, `${ctx.path}.n`);
  }
  return n;
}

/** Checks that an accumulator's arguments are an object with exactly `required` (plus `optional`) keys. */
export function expectArgs(
  args: unknown,
  ctx: AccumulatorContext,
  required: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> {
  const allowed = [...required, ...optional];
  if (!isPlainObject(args)) {
    throw ctx.error(
      `expects an object with ${allowed.map((k) => `'${k}'`).join(", ")}, found ${describeForMessage(args)}`,
    );
  }
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) throw ctx.error(`unknown argument '${key}' (allowed: ${allowed.join(", ")})`);
  }
  for (const key of required) if (!(key in args)) throw ctx.error(`missing required argument '${key}'`);
  return args;
}

/** `$firstN`: the first n values in arrival order, missing kept as null. */
export function firstNSpec(n: number): AccumulatorSpec<unknown[]> {
  return {
    name: "$firstN",
    init: () => [],
    add(state, value) {
      if (state.length < n) state.push(value === undefined ? null : value);
      return state;
    },
    result: (state) => state.slice(),
    stateSize: approximateSize,
  };
}

/** `$lastN`: the last n values in arrival order, missing kept as null. */
export function lastNSpec(n: number): AccumulatorSpec<unknown[]> {
  return {
    name: "$lastN",
    init: () => [],
    add(state, value) {
      state.push(value === undefined ? null : value);
      if (state.length > n) state.shift();
      return state;
    },
    result: (state) => state.slice(),
    stateSize: approximateSize,
  };
}

const descending = (a: unknown, b: unknown): number => compareValues(b, a);

function extremesNSpec(name: "$maxN" | "$minN", n: number): AccumulatorSpec<unknown[]> {
  const compare = name === "$maxN" ? descending : compareValues;
  return {
    name,
    init: () => [],
    add(state, value) {
      if (value !== undefined && value !== null) insertBounded(state, value, compare, n, "first");
      return state;
    },
    merge: (a, b) => mergeBounded(a, b, compare, n, "first"),
    result: (state) => state.slice(),
    stateSize: approximateSize,
  };
}

/** `$maxN`: the n largest non-null values, largest first. */
export const maxNSpec = (n: number): AccumulatorSpec<unknown[]> => extremesNSpec("$maxN", n);
/** `$minN`: the n smallest non-null values, smallest first. */
export const minNSpec = (n: number): AccumulatorSpec<unknown[]> => extremesNSpec("$minN", n);

function compileNFamily(make: (n: number) => AccumulatorSpec<unknown[]>): AccumulatorCompiler {
  return (args, ctx) => {
    const obj = expectArgs(args, ctx, ["input", "n"]);
    const n = constantN(obj, ctx);
    return { argument: ctx.compile(obj.input, `${ctx.path}.input`), spec: opaqueSpec(make(n)) };
  };
}

export const compileFirstN = compileNFamily(firstNSpec);
export const compileLastN = compileNFamily(lastNSpec);
export const compileMaxN = compileNFamily(maxNSpec);
export const compileMinN = compileNFamily(minNSpec);
