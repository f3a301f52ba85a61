import { isNumericValue, numberOf } from "../numeric.ts";
import { expectArgs } from "./n-family.ts";
import {
  type AccumulatorCompiler,
  type AccumulatorContext,
  type AccumulatorSpec,
  opaqueSpec,
} from "./types.ts";

/**
 * `$percentile` / `$median`, computed exactly: the state keeps every numeric input (as a double) and the
 * result sorts them. `approximate` (MongoDB's t-digest) and `discrete` both return the data value at rank
 * ceil(p·n) (see docs/mql-differences.md); `continuous` interpolates linearly.
 */
export type PercentileMethod = "approximate" | "discrete" | "continuous";

const METHODS: readonly string[] = ["approximate", "discrete", "continuous"];

export function percentileOf(sorted: readonly number[], p: number, method: PercentileMethod): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  if (method === "continuous") {
    const position = p * (n - 1);
    const lo = Math.floor(position);
    const hi = Math.ceil(position);
    return lo === hi ? sorted[lo] : sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
  }
  const rank = Math.ceil(p * n) - 1;
  return sorted[Math.min(n - 1, Math.max(0, rank))];
}

/** Collects numeric values; `result` maps the sorted sample through `finish`. */
function sampleSpec(name: string, finish: (sorted: readonly number[]) => unknown): AccumulatorSpec<number[]> {
  return {
    name,
    init: () => [],
    add(state, value) {
      if (typeof value === "number") {
        if (value === value) state.push(value);
      } else if (isNumericValue(value)) {
        const x = numberOf(value);
        if (x === x) state.push(x);
      }
      return state;
    },
    merge: (a, b) => {
      for (const x of b) a.push(x);
      return a;
    },
    result: (state) => finish(state.slice().sort((a, b) => a - b)),
    stateSize: (state) => 16 + state.length * 8,
  };
}

export function percentileSpec(ps: readonly number[], method: PercentileMethod): AccumulatorSpec<number[]> {
  return sampleSpec("$percentile", (sorted) => ps.map((p) => percentileOf(sorted, p, method)));
}

export function medianSpec(method: PercentileMethod): AccumulatorSpec<number[]> {
  return sampleSpec("$median", (sorted) => percentileOf(sorted, 0.5, method));
}

/** Validates `method` (any of MongoDB's three names). */
export function checkMethod(method: unknown, ctx: AccumulatorContext): PercentileMethod {
  if (typeof method !== "string" || !METHODS.includes(method)) {
    throw ctx.error(
      `method must be one of 'approximate', 'discrete', 'continuous', found ${JSON.stringify(method)}`,
      `${ctx.path}.method`,
    );
  }
  return method as PercentileMethod;
}

/** Validates `p`: a constant non-empty array of numbers in [0, 1]. */
export function checkPercentiles(p: unknown, ctx: AccumulatorContext): number[] {
  const path = `${ctx.path}.p`;
  if (!Array.isArray(p) || p.length === 0) {
    throw ctx.error("'p' must be a non-empty array of numbers from [0.0, 1.0]", path);
  }
  return p.map((item, i) => {
    if (!isNumericValue(item))
      throw ctx.error(
        `'p' must contain only numbers from [0.0, 1.0], found ${JSON.stringify(item)}`,
        `${path}[${i}]`,
      );
    const x = numberOf(item);
    if (!(x >= 0 && x <= 1))
      throw ctx.error(`'p' must contain only numbers from [0.0, 1.0], found ${x}`, `${path}[${i}]`);
    return x;
  });
}

export const compilePercentile: AccumulatorCompiler = (args, ctx) => {
  const obj = expectArgs(args, ctx, ["input", "p", "method"]);
  const ps = checkPercentiles(obj.p, ctx);
  const method = checkMethod(obj.method, ctx);
  return {
    argument: ctx.compile(obj.input, `${ctx.path}.input`),
    spec: opaqueSpec(percentileSpec(ps, method)),
  };
};

export const compileMedian: AccumulatorCompiler = (args, ctx) => {
  const obj = expectArgs(args, ctx, ["input", "method"]);
  const method = checkMethod(obj.method, ctx);
  return { argument: ctx.compile(obj.input, `${ctx.path}.input`), spec: opaqueSpec(medianSpec(method)) };
};
