import { isNumericValue, numberOf } from "../numeric.ts";
import type { AccumulatorSpec } from "./types.ts";
import { unaryAccumulator } from "./unary.ts";

/** Welford's running moments: count, mean and the sum of squared deviations. */
interface Moments {
  n: number;
  mean: number;
  m2: number;
}

function addMoment(state: Moments, value: unknown): Moments {
  if (typeof value !== "number" && !isNumericValue(value)) return state;
  const x = typeof value === "number" ? value : numberOf(value);
  state.n++;
  const delta = x - state.mean;
  state.mean += delta / state.n;
  state.m2 += delta * (x - state.mean);
  return state;
}

/** Chan et al.'s parallel combination of two Welford states. */
function mergeMoments(a: Moments, b: Moments): Moments {
  if (b.n === 0) return a;
  if (a.n === 0) return { n: b.n, mean: b.mean, m2: b.m2 };
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return { n, mean: a.mean + (delta * b.n) / n, m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n };
}

function stdDevSpec(
  name: "$stdDevPop" | "$stdDevSamp",
  minCount: number,
  divisorOffset: number,
): AccumulatorSpec<Moments> {
  return {
    name,
    init: () => ({ n: 0, mean: 0, m2: 0 }),
    add: addMoment,
    merge: mergeMoments,
    result: (s) => (s.n < minCount ? null : Math.sqrt(Math.max(0, s.m2) / (s.n - divisorOffset))),
    stateSize: () => 40,
  };
}

/** Population standard deviation of the numeric values (null when there are none). */
export const stdDevPopSpec = stdDevSpec("$stdDevPop", 1, 0);
/** Sample standard deviation (null for fewer than two numeric values). */
export const stdDevSampSpec = stdDevSpec("$stdDevSamp", 2, 1);

export const compileStdDevPop = unaryAccumulator(stdDevPopSpec);
export const compileStdDevSamp = unaryAccumulator(stdDevSampSpec);
