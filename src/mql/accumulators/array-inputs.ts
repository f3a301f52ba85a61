import { bsonTypeOf } from "../bson-types.ts";
import { MqlRuntimeError } from "../errors.ts";
import { groupKeyOf } from "../group-key.ts";
import { addToSetSpec, pushSpec } from "./collect.ts";
import { describeForMessage } from "./describe.ts";
import type { AccumulatorSpec } from "./types.ts";
import { unaryAccumulator } from "./unary.ts";

/** The arrays these accumulators take: missing adds nothing, anything else that is not an array fails. */
function arrayInput(value: unknown, operator: string, path: string): readonly unknown[] | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value;
  throw new MqlRuntimeError(
    operator,
    path,
    `${operator} requires array inputs, but input ${describeForMessage(value)} is of type ${bsonTypeOf(value)}`,
    14, // TypeMismatch
  );
}

/** `$concatArrays` (MongoDB 8.1 accumulator): the elements of every input array, in arrival order. */
export function concatArraysSpec(path: string): AccumulatorSpec<unknown[]> {
  return {
    ...pushSpec,
    name: "$concatArrays",
    add(state, value) {
      const items = arrayInput(value, "$concatArrays", path);
      if (items) for (const item of items) state.push(item);
      return state;
    },
  };
}

/** `$setUnion` (MongoDB 8.1 accumulator): the distinct elements of every input array (no order promised). */
export function setUnionSpec(path: string): AccumulatorSpec<Map<string, unknown>> {
  return {
    ...addToSetSpec,
    name: "$setUnion",
    add(state, value) {
      const items = arrayInput(value, "$setUnion", path);
      if (items) {
        for (const item of items) {
          const key = groupKeyOf(item);
          if (!state.has(key)) state.set(key, item);
        }
      }
      return state;
    },
  };
}

export const compileConcatArraysAccumulator = unaryAccumulator((ctx) => concatArraysSpec(ctx.path));
export const compileSetUnionAccumulator = unaryAccumulator((ctx) => setUnionSpec(ctx.path));
