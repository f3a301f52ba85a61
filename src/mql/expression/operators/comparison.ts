import { compareValues, valuesEqual } from "../../compare.ts";
import type { Evaluator } from "../../types.ts";
import { compileArgs, type ExprContext, type OperatorCompiler } from "../context.ts";
import { foldConstants } from "../fold.ts";

/** Aggregation comparisons use the total BSON order: no type bracketing, missing sorts before null. */
function comparison(test: (cmp: number) => boolean): OperatorCompiler {
  return (args: unknown, ctx: ExprContext): Evaluator => {
    const [a, b] = compileArgs(args, ctx, 2);
    return (root, vars) => test(compareValues(a(root, vars), b(root, vars)));
  };
}

function equality(negate: boolean): OperatorCompiler {
  return (args: unknown, ctx: ExprContext): Evaluator => {
    const [a, b] = compileArgs(args, ctx, 2);
    return negate
      ? (root, vars) => !valuesEqual(a(root, vars), b(root, vars))
      : (root, vars) => valuesEqual(a(root, vars), b(root, vars));
  };
}

export const comparisonOperators = foldConstants({
  $eq: equality(false),
  $ne: equality(true),
  $gt: comparison((c) => c > 0),
  $gte: comparison((c) => c >= 0),
  $lt: comparison((c) => c < 0),
  $lte: comparison((c) => c <= 0),
  $cmp: (args, ctx) => {
    const [a, b] = compileArgs(args, ctx, 2);
    return (root, vars) => {
      const c = compareValues(a(root, vars), b(root, vars));
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    };
  },
});
