import { approximateSize } from "./state-size.ts";
import type { AccumulatorSpec } from "./types.ts";
import { unaryAccumulator } from "./unary.ts";

interface Picked {
  seen: boolean;
  value: unknown;
}

/** `$first`: the first document's value, missing kept as null. No merge: parts may arrive unordered. */
export const firstSpec: AccumulatorSpec<Picked> = {
  name: "$first",
  init: () => ({ seen: false, value: null }),
  add(state, value) {
    if (!state.seen) {
      state.seen = true;
      state.value = value === undefined ? null : value;
    }
    return state;
  },
  result: (state) => state.value,
  stateSize: (state) => 16 + approximateSize(state.value),
};

/** `$last`: the last document's value, missing kept as null. */
export const lastSpec: AccumulatorSpec<Picked> = {
  name: "$last",
  init: () => ({ seen: false, value: null }),
  add(state, value) {
    state.seen = true;
    state.value = value === undefined ? null : value;
    return state;
  },
  result: (state) => state.value,
  stateSize: (state) => 16 + approximateSize(state.value),
};

export const compileFirst = unaryAccumulator(firstSpec);
export const compileLast = unaryAccumulator(lastSpec);
