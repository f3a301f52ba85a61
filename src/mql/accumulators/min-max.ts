import { compareValues } from "../compare.ts";
import { approximateSize } from "./state-size.ts";
import type { AccumulatorSpec } from "./types.ts";
import { unaryAccumulator } from "./unary.ts";

/** The extreme value so far, or undefined before the first non-null value. */
type Extreme = unknown;

function extremeSpec(name: "$min" | "$max", sign: 1 | -1): AccumulatorSpec<Extreme> {
  const pick = (a: Extreme, b: Extreme): Extreme => {
    // Two non-NaN JS numbers (the common case) compare directly; ties keep the earlier value, as below.
    if (typeof a === "number" && typeof b === "number" && a === a && b === b) {
      return (sign > 0 ? b > a : b < a) ? b : a;
    }
    if (b === undefined || b === null) return a;
    if (a === undefined) return b;
    return compareValues(b, a) * sign > 0 ? b : a;
  };
  return {
    name,
    init: () => undefined,
    add: pick,
    merge: pick,
    result: (state) => (state === undefined ? null : state),
    stateSize: (state) => approximateSize(state),
  };
}

/** `$min` / `$max` in MongoDB's BSON order; null and missing values are ignored. */
export const minSpec = extremeSpec("$min", -1);
export const maxSpec = extremeSpec("$max", 1);

export const compileMin = unaryAccumulator(minSpec);
export const compileMax = unaryAccumulator(maxSpec);
