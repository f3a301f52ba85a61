import { bsonTypeOf } from "../bson-types.ts";
import { compileArgs, expectObjectArgs, type OperatorCompiler } from "../expression/context.ts";
import { firstNSpec, lastNSpec, maxNSpec, minNSpec, validateN } from "./n-family.ts";
import { checkMethod, checkPercentiles, medianSpec, percentileSpec } from "./percentile.ts";
import { maxSpec, minSpec } from "./min-max.ts";
import { stdDevPopSpec, stdDevSampSpec } from "./std-dev.ts";
import { avgSpec, sumSpec } from "./sum-avg.ts";
import type { AccumulatorSpec } from "./types.ts";

/**
 * The accumulators usable as expressions (`$project: {total: {$sum: "$items"}}`), computed with the same
 * specs as `$group`: one argument that is an array folds its elements, several arguments fold themselves.
 */
function fold<S>(spec: AccumulatorSpec<S>, values: readonly unknown[]): unknown {
  let state = spec.init();
  for (const value of values) state = spec.add(state, value);
  return spec.result(state);
}

function overArguments<S>(spec: AccumulatorSpec<S>): OperatorCompiler {
  return (args, ctx) => {
    const items = compileArgs(args, ctx, 1, Infinity);
    if (items.length === 1) {
      const [only] = items;
      return (root, vars) => {
        const value = only(root, vars);
        return fold(spec, Array.isArray(value) ? value : [value]);
      };
    }
    return (root, vars) => {
      let state = spec.init();
      for (const item of items) state = spec.add(state, item(root, vars));
      return spec.result(state);
    };
  };
}

/** `{input, ...}` where `input` is an array or a single value (as `$median` and `$percentile` accept). */
const asArray = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : [value]);

const $median: OperatorCompiler = (args, ctx) => {
  const obj = expectObjectArgs(args, ctx, ["input", "method"]);
  const spec = medianSpec(checkMethod(obj.method, ctx));
  const input = ctx.compile(obj.input, `${ctx.path}.input`);
  return (root, vars) => fold(spec, asArray(input(root, vars)));
};

const $percentile: OperatorCompiler = (args, ctx) => {
  const obj = expectObjectArgs(args, ctx, ["input", "p", "method"]);
  const spec = percentileSpec(checkPercentiles(obj.p, ctx), checkMethod(obj.method, ctx));
  const input = ctx.compile(obj.input, `${ctx.path}.input`);
  return (root, vars) => fold(spec, asArray(input(root, vars)));
};

/** The array forms of `$firstN`, `$lastN`, `$maxN`, `$minN`: `{n, input}` with `n` evaluated per document. */
function overArrayN(make: (n: number) => AccumulatorSpec<unknown[]>): OperatorCompiler {
  return (args, ctx) => {
    const obj = expectObjectArgs(args, ctx, ["n", "input"]);
    const nOf = ctx.compile(obj.n, `${ctx.path}.n`);
    const input = ctx.compile(obj.input, `${ctx.path}.input`);
    return (root, vars) => {
      const n = validateN(nOf(root, vars));
      if (typeof n === "string") throw ctx.runtimeError(n, 5787902);
      const array = input(root, vars);
      if (array === undefined || array === null) return null;
      if (!Array.isArray(array))
        throw ctx.runtimeError(`Input must be an array, found ${bsonTypeOf(array)}`, 5788200);
      return fold(make(n), array);
    };
  };
}

export const accumulatorExpressions: Readonly<Record<string, OperatorCompiler>> = {
  $sum: overArguments(sumSpec),
  $avg: overArguments(avgSpec),
  $max: overArguments(maxSpec),
  $min: overArguments(minSpec),
  $stdDevPop: overArguments(stdDevPopSpec),
  $stdDevSamp: overArguments(stdDevSampSpec),
  $median,
  $percentile,
  $firstN: overArrayN(firstNSpec),
  $lastN: overArrayN(lastNSpec),
  $maxN: overArrayN(maxNSpec),
  $minN: overArrayN(minNSpec),
};
