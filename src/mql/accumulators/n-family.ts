import { describeForMessage } from "./describe.ts";
import { compareValues } from "../compare.ts";
import { isPlainObject } from "../bson-types.ts";
import { isNumericValue, numberOf } from "../numeric.ts";
import { insertBounded, mergeBounded } from "./ranked.ts";
import { approximateSize } from "./state-size.ts";
import {
  type AccumulatorCompiler,
  type AccumulatorContext,
  type AccumulatorSpec,
  opaqueSpec,
} from "./types.ts";

/** Checks an `n` value; returns the count or an error detail in MongoDB's words. */
export function validateN(value: unknown, operator: string): number | string {
  if (!isNumericValue(value))
    return `Value for 'n' must be of integral type, but found ${describeForMessage(value)}`;
  const n = numberOf(value);
  if (!Number.isInteger(n)) return `Value for 'n' must be of integral type, but found ${n}`;
  if (n <= 0) return `'n' must be greater than 0, found ${n}`;
  if (n > 2 ** 31 - 1) return `${operator}: 'n' cannot be greater than 2147483647, found ${n}`;
  return n;
}

/** Reads a constant `n` from a group accumulator's arguments (a literal positive integer). */
export function constantN(args: Record<string, unknown>, ctx: AccumulatorContext): number {
  const n = validateN(args.n, ctx.operator);
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
