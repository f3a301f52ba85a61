import { bsonTypeOf } from "../../bson-types.ts";
import { groupKeyOf } from "../../group-key.ts";
import type { Evaluator, Vars, Doc } from "../../types.ts";
import { compileArgs, type ExprContext, type OperatorCompiler } from "../context.ts";
import { foldConstants } from "../fold.ts";
import { isTruthy } from "../truthiness.ts";

/**
 * Set operators treat arrays as sets under MongoDB's equality (1 == 1.0 == Long(1)); elements are keyed by
 * `groupKeyOf`, which agrees with `valuesEqual`. Results keep first-seen order without duplicates.
 */
type SetMap = Map<string, unknown>;

function toSet(array: readonly unknown[]): SetMap {
  const set: SetMap = new Map();
  for (const item of array) {
    const key = groupKeyOf(item);
    if (!set.has(key)) set.set(key, item);
  }
  return set;
}

const isNullish = (value: unknown): boolean => value === undefined || value === null;

/** Evaluates all arguments; null when one is nullish and `nullPropagates`, else each must be an array. */
function evaluateArrays(
  items: readonly Evaluator[],
  root: Doc,
  vars: Vars,
  nullPropagates: boolean,
  fail: (value: unknown, index: number) => never,
): unknown[][] | null {
  const out: unknown[][] = [];
  for (let i = 0; i < items.length; i++) {
    const value = items[i](root, vars);
    if (nullPropagates && isNullish(value)) return null;
    if (!Array.isArray(value)) fail(value, i);
    out.push(value as unknown[]);
  }
  return out;
}

function allOperandsMustBeArrays(ctx: ExprContext, code: number) {
  return (value: unknown): never => {
    throw ctx.runtimeError(
      `All operands of ${ctx.operator} must be arrays. One argument is of type: ${bsonTypeOf(value)}`,
      code,
    );
  };
}

function bothOperandsMustBeArrays(ctx: ExprContext, codes: readonly [number, number]) {
  return (value: unknown, index: number): never => {
    const which = index === 0 ? "First" : "Second";
    throw ctx.runtimeError(
      `both operands of ${ctx.operator} must be arrays. ${which} argument is of type: ${bsonTypeOf(value)}`,
      codes[index],
    );
  };
}

const $setEquals: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 2, Infinity);
  const fail = allOperandsMustBeArrays(ctx, 17044);
  return (root, vars) => {
    const [first, ...rest] = evaluateArrays(items, root, vars, false, fail) as unknown[][];
    const reference = toSet(first);
    for (const array of rest) {
      const other = toSet(array);
      if (other.size !== reference.size) return false;
      for (const key of other.keys()) if (!reference.has(key)) return false;
    }
    return true;
  };
};

const $setIntersection: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 0, Infinity);
  const fail = allOperandsMustBeArrays(ctx, 17047);
  return (root, vars) => {
    const arrays = evaluateArrays(items, root, vars, true, fail);
    if (arrays === null) return null;
    if (arrays.length === 0) return [];
    let current = toSet(arrays[0]);
    for (let i = 1; i < arrays.length; i++) {
      const other = toSet(arrays[i]);
      const next: SetMap = new Map();
      for (const [key, value] of current) if (other.has(key)) next.set(key, value);
      current = next;
    }
    return Array.from(current.values());
  };
};

const $setUnion: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 0, Infinity);
  const fail = allOperandsMustBeArrays(ctx, 17043);
  return (root, vars) => {
    const arrays = evaluateArrays(items, root, vars, true, fail);
    if (arrays === null) return null;
    const union: SetMap = new Map();
    for (const array of arrays) {
      for (const item of array) {
        const key = groupKeyOf(item);
        if (!union.has(key)) union.set(key, item);
      }
    }
    return Array.from(union.values());
  };
};

const $setDifference: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 2);
  const fail = bothOperandsMustBeArrays(ctx, [17048, 17049]);
  return (root, vars) => {
    const arrays = evaluateArrays(items, root, vars, true, fail);
    if (arrays === null) return null;
    const exclude = toSet(arrays[1]);
    const out: unknown[] = [];
    for (const [key, value] of toSet(arrays[0])) if (!exclude.has(key)) out.push(value);
    return out;
  };
};

const $setIsSubset: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 2);
  const fail = bothOperandsMustBeArrays(ctx, [17310, 17311]);
  return (root, vars) => {
    const [subset, superset] = evaluateArrays(items, root, vars, false, fail) as unknown[][];
    const container = toSet(superset);
    for (const item of subset) if (!container.has(groupKeyOf(item))) return false;
    return true;
  };
};

function elementsTrue(which: "$anyElementTrue" | "$allElementsTrue", code: number): OperatorCompiler {
  return (args, ctx) => {
    const [a] = compileArgs(args, ctx, 1);
    return (root, vars) => {
      const array = a(root, vars);
      if (!Array.isArray(array))
        throw ctx.runtimeError(`${which}'s argument must be an array, but is ${bsonTypeOf(array)}`, code);
      return which === "$anyElementTrue" ? array.some(isTruthy) : array.every(isTruthy);
    };
  };
}

export const setOperators = foldConstants({
  $setEquals,
  $setIntersection,
  $setUnion,
  $setDifference,
  $setIsSubset,
  $anyElementTrue: elementsTrue("$anyElementTrue", 17041),
  $allElementsTrue: elementsTrue("$allElementsTrue", 17040),
});
