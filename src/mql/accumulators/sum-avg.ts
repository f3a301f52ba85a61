import { addNumbers, divideNumbers, isNumericValue } from "../numeric.ts";
import { isPlainObject } from "../bson-types.ts";
import { approximateSize } from "./state-size.ts";
import type { AccumulatorCompiler, AccumulatorSpec } from "./types.ts";
import { unaryAccumulator } from "./unary.ts";

/** A running sum: a JS number until a Long or Decimal128 arrives, then whatever `addNumbers` returns. */
type Sum = unknown;

function addToSum(sum: Sum, value: unknown): Sum {
  if (typeof value === "number") return typeof sum === "number" ? sum + value : addNumbers(sum, value);
  return isNumericValue(value) ? addNumbers(sum, value) : sum;
}

function sumSize(sum: Sum): number {
  return typeof sum === "number" ? 8 : approximateSize(sum);
}

/** `$sum`: non-numeric values are ignored; the sum of nothing is 0. */
export const sumSpec: AccumulatorSpec<Sum> = {
  name: "$sum",
  init: () => 0,
  add: addToSum,
  merge: (a, b) => addNumbers(a, b),
  result: (sum) => sum,
  stateSize: sumSize,
};

interface AvgState {
  sum: Sum;
  count: number;
}

/** `$avg`: non-numeric values are ignored; the average of no numbers is null. */
export const avgSpec: AccumulatorSpec<AvgState> = {
  name: "$avg",
  init: () => ({ sum: 0, count: 0 }),
  add(state, value) {
    if (typeof value === "number" || isNumericValue(value)) {
      state.sum = addToSum(state.sum, value);
      state.count++;
    }
    return state;
  },
  merge: (a, b) => ({ sum: addNumbers(a.sum, b.sum), count: a.count + b.count }),
  result: (state) => (state.count === 0 ? null : divideNumbers(state.sum, state.count)),
  stateSize: (state) => 16 + sumSize(state.sum) + 8,
};

export const compileSum = unaryAccumulator(sumSpec);

export const compileAvg = unaryAccumulator(avgSpec);

const one = (): number => 1;

/** `$count: {}` is `$sum: 1`. */
export const compileCount: AccumulatorCompiler = (args, ctx) => {
  if (!isPlainObject(args) || Object.keys(args).length !== 0) {
    throw ctx.error("$count takes no arguments, i.e. $count: {}");
  }
  return { argument: one, spec: { ...sumSpec, name: "$count" } };
};
