import { describeForMessage } from "../../accumulators/describe.ts";
import { bsonTypeOf, isPlainObject } from "../../bson-types.ts";
import { compareValues, valuesEqual } from "../../compare.ts";
import { accumulatorExpressions } from "../../accumulators/expression-forms.ts";
import { compileSortSpec } from "../../accumulators/sort-spec.ts";
import { isNumericValue, numberOf } from "../../numeric.ts";
import type { Doc, Evaluator } from "../../types.ts";
import {
  childVars,
  compileArgs,
  expectObjectArgs,
  type ExprContext,
  type OperatorCompiler,
} from "../context.ts";
import { foldConstants } from "../fold.ts";
import { isTruthy } from "../truthiness.ts";

const isNullish = (value: unknown): value is null | undefined => value === undefined || value === null;

/** A numeric value that is integral and fits int32, or undefined. */
function int32Of(value: unknown): number | undefined {
  if (!isNumericValue(value)) return undefined;
  const n = numberOf(value);
  return Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

function variableName(value: unknown, ctx: ExprContext, path: string): string {
  if (typeof value !== "string")
    throw ctx.error(`'as' must be a string naming a variable, got ${describeForMessage(value)}`, path);
  return value;
}

const $map: OperatorCompiler = (args, ctx) => {
  const spec = expectObjectArgs(args, ctx, ["input", "in"], ["as"]);
  const name = "as" in spec ? variableName(spec.as, ctx, `${ctx.path}.as`) : "this";
  const input = ctx.compile(spec.input, `${ctx.path}.input`);
  const body = ctx.withVariables([name]).compile(spec.in, `${ctx.path}.in`);
  return (root, vars) => {
    const array = input(root, vars);
    if (isNullish(array)) return null;
    if (!Array.isArray(array))
      throw ctx.runtimeError(`input to $map must be an array not ${bsonTypeOf(array)}`, 16883);
    const scope = childVars(vars);
    const out = new Array<unknown>(array.length);
    for (let i = 0; i < array.length; i++) {
      scope[name] = array[i];
      const v = body(root, scope);
      out[i] = v === undefined ? null : v;
    }
    return out;
  };
};

const $filter: OperatorCompiler = (args, ctx) => {
  const spec = expectObjectArgs(args, ctx, ["input", "cond"], ["as", "limit"]);
  const name = "as" in spec ? variableName(spec.as, ctx, `${ctx.path}.as`) : "this";
  const input = ctx.compile(spec.input, `${ctx.path}.input`);
  const cond = ctx.withVariables([name]).compile(spec.cond, `${ctx.path}.cond`);
  const limitOf = "limit" in spec ? ctx.compile(spec.limit, `${ctx.path}.limit`) : undefined;
  return (root, vars) => {
    const array = input(root, vars);
    if (isNullish(array)) return null;
    if (!Array.isArray(array))
      throw ctx.runtimeError(`input to $filter must be an array not ${bsonTypeOf(array)}`, 28651);
    let limit = Infinity;
    if (limitOf) {
      const raw = limitOf(root, vars);
      if (!isNullish(raw)) {
        const n = int32Of(raw);
        if (n === undefined) {
          throw ctx.runtimeError(
            `$filter: limit must be represented as a 32-bit integral value: ${describeForMessage(raw)}`,
          );
        }
        if (n < 1) throw ctx.runtimeError(`$filter: limit must be greater than 0: ${n}`);
        limit = n;
      }
    }
    const scope = childVars(vars);
    const out: unknown[] = [];
    for (let i = 0; i < array.length && out.length < limit; i++) {
      scope[name] = array[i];
      if (isTruthy(cond(root, scope))) out.push(array[i]);
    }
    return out;
  };
};

const $reduce: OperatorCompiler = (args, ctx) => {
  const spec = expectObjectArgs(args, ctx, ["input", "initialValue", "in"]);
  const input = ctx.compile(spec.input, `${ctx.path}.input`);
  const initial = ctx.compile(spec.initialValue, `${ctx.path}.initialValue`);
  const body = ctx.withVariables(["value", "this"]).compile(spec.in, `${ctx.path}.in`);
  return (root, vars) => {
    const array = input(root, vars);
    if (isNullish(array)) return null;
    if (!Array.isArray(array))
      throw ctx.runtimeError(`input to $reduce must be an array not ${bsonTypeOf(array)}`, 40080);
    const scope = childVars(vars);
    let acc = initial(root, vars);
    for (const item of array) {
      scope.value = acc;
      scope.this = item;
      acc = body(root, scope);
    }
    return acc;
  };
};

const $size: OperatorCompiler = (args, ctx) => {
  const [a] = compileArgs(args, ctx, 1);
  return (root, vars) => {
    const array = a(root, vars);
    if (!Array.isArray(array)) {
      throw ctx.runtimeError(
        `The argument to $size must be an array. Type of value was: ${bsonTypeOf(array)}`,
        17124,
      );
    }
    return array.length;
  };
};

/** `array[index]` with a negative index counting from the end; out of range is missing. */
function elementAt(array: readonly unknown[], index: number): unknown {
  const i = index < 0 ? array.length + index : index;
  return i >= 0 && i < array.length ? array[i] : undefined;
}

const $arrayElemAt: OperatorCompiler = (args, ctx) => {
  const [a, b] = compileArgs(args, ctx, 2);
  return (root, vars) => {
    const array = a(root, vars);
    const index = b(root, vars);
    if (isNullish(array) || isNullish(index)) return null;
    if (!Array.isArray(array)) {
      throw ctx.runtimeError(
        `$arrayElemAt's first argument must be an array, but is ${bsonTypeOf(array)}`,
        28689,
      );
    }
    if (!isNumericValue(index)) {
      throw ctx.runtimeError(
        `$arrayElemAt's second argument must be a numeric value, but is ${bsonTypeOf(index)}`,
        28690,
      );
    }
    const i = int32Of(index);
    if (i === undefined) {
      throw ctx.runtimeError(
        `$arrayElemAt's second argument must be representable as a 32-bit integer: ${describeForMessage(index)}`,
        28691,
      );
    }
    return elementAt(array, i);
  };
};

function endElement(which: "$first" | "$last"): OperatorCompiler {
  return (args, ctx) => {
    const [a] = compileArgs(args, ctx, 1);
    return (root, vars) => {
      const array = a(root, vars);
      if (isNullish(array)) return null;
      if (!Array.isArray(array))
        throw ctx.runtimeError(`${which}'s argument must be an array, but is ${bsonTypeOf(array)}`, 28689);
      return which === "$first" ? array[0] : array[array.length - 1];
    };
  };
}

const $in: OperatorCompiler = (args, ctx) => {
  const [a, b] = compileArgs(args, ctx, 2);
  return (root, vars) => {
    const needle = a(root, vars);
    const array = b(root, vars);
    if (!Array.isArray(array)) {
      throw ctx.runtimeError(
        `$in requires an array as a second argument, found: ${bsonTypeOf(array)}`,
        40081,
      );
    }
    for (const item of array) if (valuesEqual(needle, item)) return true;
    return false;
  };
};

const $concatArrays: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 0, Infinity);
  return (root, vars) => {
    const out: unknown[] = [];
    for (const item of items) {
      const array = item(root, vars);
      if (isNullish(array)) return null;
      if (!Array.isArray(array))
        throw ctx.runtimeError(`$concatArrays only supports arrays, not ${bsonTypeOf(array)}`, 28664);
      for (const v of array) out.push(v);
    }
    return out;
  };
};

const $slice: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 2, 3);
  const [arrayOf, secondOf] = items;
  const thirdOf = items.length === 3 ? items[2] : undefined;
  const ordinals = ["First", "Second", "Third"];
  const int = (value: unknown, argument: number): number => {
    if (!isNumericValue(value)) {
      throw ctx.runtimeError(
        `${ordinals[argument]} argument to $slice must be numeric, but is of type: ${bsonTypeOf(value)}`,
        28724 + argument,
      );
    }
    const n = int32Of(value);
    if (n === undefined) {
      throw ctx.runtimeError(
        `${ordinals[argument]} argument to $slice can't be represented as a 32-bit integer: ${describeForMessage(value)}`,
      );
    }
    return n;
  };
  return (root, vars) => {
    const array = arrayOf(root, vars);
    const second = secondOf(root, vars);
    const third = thirdOf ? thirdOf(root, vars) : 0;
    if (isNullish(array) || isNullish(second) || isNullish(third)) return null;
    if (!Array.isArray(array)) {
      throw ctx.runtimeError(
        `First argument to $slice must be an array, but is of type: ${bsonTypeOf(array)}`,
        28724,
      );
    }
    if (!thirdOf) {
      const n = int(second, 1);
      return n >= 0 ? array.slice(0, n) : array.slice(Math.max(0, array.length + n));
    }
    const position = int(second, 1);
    const count = int(third, 2);
    if (count <= 0) throw ctx.runtimeError(`Third argument to $slice must be positive: ${count}`, 28729);
    const start = position < 0 ? Math.max(0, array.length + position) : Math.min(position, array.length);
    return array.slice(start, start + count);
  };
};

const $reverseArray: OperatorCompiler = (args, ctx) => {
  const [a] = compileArgs(args, ctx, 1);
  return (root, vars) => {
    const array = a(root, vars);
    if (isNullish(array)) return null;
    if (!Array.isArray(array)) {
      throw ctx.runtimeError(
        `The argument to $reverseArray must be an array, but was of type: ${bsonTypeOf(array)}`,
        34435,
      );
    }
    return array.slice().reverse();
  };
};

const $sortArray: OperatorCompiler = (args, ctx) => {
  const spec = expectObjectArgs(args, ctx, ["input", "sortBy"]);
  const input = ctx.compile(spec.input, `${ctx.path}.input`);
  const order = sortOrder(spec.sortBy, ctx);
  return (root, vars) => {
    const array = input(root, vars);
    if (isNullish(array)) return null;
    if (!Array.isArray(array))
      throw ctx.runtimeError(`$sortArray requires an array as input, found: ${bsonTypeOf(array)}`, 2942504);
    return order(array);
  };
};

/** Compiles `sortBy` (1, -1 or a document) into a stable sort returning a new array. */
function sortOrder(sortBy: unknown, ctx: ExprContext): (array: readonly unknown[]) => unknown[] {
  if (sortBy === 1 || sortBy === -1) {
    const direction = sortBy;
    return (array) => array.slice().sort((a, b) => compareValues(a, b) * direction);
  }
  const sort = compileSortSpec(sortBy);
  if (typeof sort === "string") {
    throw ctx.error(`sortBy must be 1, -1 or a sort document: ${sort}`, `${ctx.path}.sortBy`);
  }
  return (array) => {
    const keyed = array.map((value) => ({ key: sort.keyOf(isPlainObject(value) ? value : {}), value }));
    keyed.sort((a, b) => sort.compare(a.key, b.key));
    return keyed.map((entry) => entry.value);
  };
}

const $range: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 2, 3);
  const int = (value: unknown, what: string, codes: readonly [number, number]): number => {
    if (!isNumericValue(value)) {
      throw ctx.runtimeError(
        `$range requires a numeric ${what}, found value of type: ${bsonTypeOf(value)}`,
        codes[0],
      );
    }
    const n = int32Of(value);
    if (n === undefined) {
      throw ctx.runtimeError(
        `$range requires a ${what} that can be represented as a 32-bit integer, found value: ${describeForMessage(value)}`,
        codes[1],
      );
    }
    return n;
  };
  return (root, vars) => {
    const start = int(items[0](root, vars), "starting value", [34443, 34444]);
    const end = int(items[1](root, vars), "ending value", [34445, 34446]);
    const step = items.length === 3 ? int(items[2](root, vars), "step value", [34447, 34448]) : 1;
    if (step === 0) throw ctx.runtimeError("$range requires a non-zero step value", 34449);
    const out: number[] = [];
    if (step > 0) for (let i = start; i < end; i += step) out.push(i);
    else for (let i = start; i > end; i += step) out.push(i);
    return out;
  };
};

const $zip: OperatorCompiler = (args, ctx) => {
  const spec = expectObjectArgs(args, ctx, ["inputs"], ["useLongestLength", "defaults"]);
  if (!Array.isArray(spec.inputs))
    throw ctx.error(
      `inputs must be an array of expressions, found ${describeForMessage(spec.inputs)}`,
      `${ctx.path}.inputs`,
    );
  if (spec.inputs.length === 0)
    throw ctx.error("$zip requires at least one input array", `${ctx.path}.inputs`);
  const longest = spec.useLongestLength ?? false;
  if (typeof longest !== "boolean")
    throw ctx.error(
      `useLongestLength must be a bool, found ${describeForMessage(longest)}`,
      `${ctx.path}.useLongestLength`,
    );
  const inputs = spec.inputs.map((item, i) => ctx.compile(item, `${ctx.path}.inputs[${i}]`));
  let defaults: Evaluator[] | undefined;
  if ("defaults" in spec) {
    if (!longest)
      throw ctx.error("cannot specify defaults unless useLongestLength is true", `${ctx.path}.defaults`);
    if (!Array.isArray(spec.defaults))
      throw ctx.error(
        `defaults must be an array of expressions, found ${describeForMessage(spec.defaults)}`,
        `${ctx.path}.defaults`,
      );
    if (spec.defaults.length !== inputs.length)
      throw ctx.error("defaults and inputs must be the same length", `${ctx.path}.defaults`);
    defaults = spec.defaults.map((item, i) => ctx.compile(item, `${ctx.path}.defaults[${i}]`));
  }
  return (root, vars) => {
    const arrays: unknown[][] = [];
    for (const input of inputs) {
      const array = input(root, vars);
      if (isNullish(array)) return null;
      if (!Array.isArray(array))
        throw ctx.runtimeError(
          `$zip found a non-array expression in input: ${describeForMessage(array)}`,
          34468,
        );
      arrays.push(array);
    }
    let length = arrays[0].length;
    for (const array of arrays)
      length = longest ? Math.max(length, array.length) : Math.min(length, array.length);
    const fill = defaults ? defaults.map((d) => d(root, vars) ?? null) : undefined;
    const out = new Array<unknown[]>(length);
    for (let i = 0; i < length; i++) {
      const row = new Array<unknown>(arrays.length);
      for (let j = 0; j < arrays.length; j++)
        row[j] = i < arrays[j].length ? arrays[j][i] : fill ? fill[j] : null;
      out[i] = row;
    }
    return out;
  };
};

const $indexOfArray: OperatorCompiler = (args, ctx) => {
  const items = compileArgs(args, ctx, 2, 4);
  const bound = (value: unknown, what: "starting" | "ending"): number => {
    const n = int32Of(value);
    if (n === undefined) {
      throw ctx.runtimeError(
        `$indexOfArray requires an integral ${what} index, found a value of type: ${bsonTypeOf(value)}, with value: ${describeForMessage(value)}`,
        what === "starting" ? 40096 : 40098,
      );
    }
    if (n < 0)
      throw ctx.runtimeError(
        `$indexOfArray requires a nonnegative ${what} index, found: ${n}`,
        what === "starting" ? 40097 : 40099,
      );
    return n;
  };
  return (root, vars) => {
    const array = items[0](root, vars);
    if (isNullish(array)) return null;
    if (!Array.isArray(array))
      throw ctx.runtimeError(
        `$indexOfArray requires an array as a first argument, found: ${bsonTypeOf(array)}`,
        40090,
      );
    const needle = items[1](root, vars);
    const start = items.length > 2 ? bound(items[2](root, vars), "starting") : 0;
    const end =
      items.length > 3 ? Math.min(bound(items[3](root, vars), "ending"), array.length) : array.length;
    for (let i = start; i < end; i++) if (valuesEqual(array[i], needle)) return i;
    return -1;
  };
};

const $arrayToObject: OperatorCompiler = (args, ctx) => {
  const [a] = compileArgs(args, ctx, 1);
  const key = (k: unknown): string => {
    if (typeof k !== "string") {
      throw ctx.runtimeError(
        `$arrayToObject requires an array of key-value pairs, where the key must be of type string. Found key type: ${bsonTypeOf(k)}`,
        40395,
      );
    }
    if (k.includes("\0")) throw ctx.runtimeError("Key field cannot contain an embedded null byte", 4940400);
    return k;
  };
  return (root, vars) => {
    const array = a(root, vars);
    if (isNullish(array)) return null;
    if (!Array.isArray(array))
      throw ctx.runtimeError(`$arrayToObject requires an array input, found: ${bsonTypeOf(array)}`, 40386);
    const out: Doc = {};
    if (array.length === 0) return out;
    const pairs = Array.isArray(array[0]);
    if (!pairs && !isPlainObject(array[0])) {
      throw ctx.runtimeError(
        `Unrecognised input type format for $arrayToObject: ${bsonTypeOf(array[0])}`,
        40398,
      );
    }
    for (const item of array) {
      if (pairs) {
        if (!Array.isArray(item)) {
          throw ctx.runtimeError(
            `$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Array was detected, now found: ${bsonTypeOf(item)}`,
            40396,
          );
        }
        if (item.length !== 2)
          throw ctx.runtimeError(
            `$arrayToObject requires an array of size 2 arrays,found array of size: ${item.length}`,
            40397,
          );
        out[key(item[0])] = item[1];
      } else {
        if (!isPlainObject(item)) {
          throw ctx.runtimeError(
            `$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Object was detected, now found: ${bsonTypeOf(item)}`,
            40391,
          );
        }
        const fields = Object.keys(item);
        if (fields.length !== 2)
          throw ctx.runtimeError(
            `$arrayToObject requires an object keys of 'k' and 'v'. Found incorrect number of keys:${fields.length}`,
            40392,
          );
        if (!("k" in item) || !("v" in item)) {
          throw ctx.runtimeError(
            `$arrayToObject requires an object with keys 'k' and 'v'. Missing either or both keys from: ${describeForMessage(item)}`,
            40393,
          );
        }
        out[key(item.k)] = item.v;
      }
    }
    return out;
  };
};

const $objectToArray: OperatorCompiler = (args, ctx) => {
  const [a] = compileArgs(args, ctx, 1);
  return (root, vars) => {
    const obj = a(root, vars);
    if (isNullish(obj)) return null;
    if (!isPlainObject(obj))
      throw ctx.runtimeError(`$objectToArray requires a document input, found: ${bsonTypeOf(obj)}`, 40390);
    const out: Array<{ k: string; v: unknown }> = [];
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      if (v !== undefined) out.push({ k, v });
    }
    return out;
  };
};

const $isArray: OperatorCompiler = (args, ctx) => {
  const [a] = compileArgs(args, ctx, 1);
  return (root, vars) => Array.isArray(a(root, vars));
};

/** Operators whose result depends only on their arguments, so constant arguments fold at compile time. */
export const arrayOperators = foldConstants({
  $map,
  $filter,
  $reduce,
  $size,
  $arrayElemAt,
  $first: endElement("$first"),
  $last: endElement("$last"),
  $in,
  $concatArrays,
  $slice,
  $reverseArray,
  $sortArray,
  $range,
  $zip,
  $indexOfArray,
  $arrayToObject,
  $objectToArray,
  $isArray,
  ...accumulatorExpressions,
});
