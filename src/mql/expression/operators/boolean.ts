import type { Evaluator } from "../../types.ts";
import { compileArgs } from "../context.ts";
import { foldConstants } from "../fold.ts";
import { isTruthy } from "../truthiness.ts";

export const booleanOperators = foldConstants({
  // `{$expr: <expr>}` inside an aggregation expression is the value of <expr>: ASP's official examples use it
  // in `$switch`/`$cond` branches, and ASP accepts them.
  $expr: (args, ctx): Evaluator => ctx.compile(args, ctx.path),
  $and: (args, ctx): Evaluator => {
    const items = compileArgs(args, ctx, 0, Infinity);
    if (items.length === 2) {
      const [a, b] = items;
      return (root, vars) => isTruthy(a(root, vars)) && isTruthy(b(root, vars));
    }
    return (root, vars) => {
      for (const item of items) if (!isTruthy(item(root, vars))) return false;
      return true;
    };
  },
  $or: (args, ctx): Evaluator => {
    const items = compileArgs(args, ctx, 0, Infinity);
    if (items.length === 2) {
      const [a, b] = items;
      return (root, vars) => isTruthy(a(root, vars)) || isTruthy(b(root, vars));
    }
    return (root, vars) => {
      for (const item of items) if (isTruthy(item(root, vars))) return true;
      return false;
    };
  },
  $not: (args, ctx): Evaluator => {
    const [a] = compileArgs(args, ctx, 1);
    return (root, vars) => !isTruthy(a(root, vars));
  },
});
