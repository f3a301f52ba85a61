import { describeForMessage } from "./describe.ts";
import { MqlRuntimeError } from "../errors.ts";
import { groupKeyOf } from "../group-key.ts";
import { mergeObjectInto } from "../merge-objects.ts";
import { approximateSize } from "./state-size.ts";
import type { AccumulatorSpec } from "./types.ts";
import { unaryAccumulator } from "./unary.ts";

/** `$push`: every value in arrival order; missing values are skipped. */
export const pushSpec: AccumulatorSpec<unknown[]> = {
  name: "$push",
  init: () => [],
  add(state, value) {
    if (value !== undefined) state.push(value);
    return state;
  },
  merge: (a, b) => {
    for (const v of b) a.push(v);
    return a;
  },
  result: (state) => state.slice(),
  stateSize: approximateSize,
};

/** `$addToSet`: distinct values under BSON equality (keyed by {@link groupKeyOf}); missing is skipped. */
export const addToSetSpec: AccumulatorSpec<Map<string, unknown>> = {
  name: "$addToSet",
  init: () => new Map(),
  add(state, value) {
    if (value !== undefined) {
      const key = groupKeyOf(value);
      if (!state.has(key)) state.set(key, value);
    }
    return state;
  },
  merge: (a, b) => {
    for (const [key, value] of b) if (!a.has(key)) a.set(key, value);
    return a;
  },
  result: (state) => Array.from(state.values()),
  stateSize: (state) => {
    let size = 64;
    for (const [key, value] of state) size += 16 + approximateSize(key) + approximateSize(value);
    return size;
  },
};

/** `$mergeObjects` bound to its path, for the error a non-document input raises. */
export function mergeObjectsSpec(path: string): AccumulatorSpec<Record<string, unknown>> {
  return {
    name: "$mergeObjects",
    init: () => ({}),
    add(state, value) {
      mergeObjectInto(
        state,
        value,
        describeForMessage,
        (message) => new MqlRuntimeError("$mergeObjects", path, message, 40400),
      );
      return state;
    },
    merge: (a, b) => Object.assign(a, b),
    result: (state) => ({ ...state }),
    stateSize: approximateSize,
  };
}

export const compilePush = unaryAccumulator(pushSpec);
export const compileAddToSet = unaryAccumulator(addToSetSpec);
export const compileMergeObjects = unaryAccumulator((ctx) => mergeObjectsSpec(ctx.path));
