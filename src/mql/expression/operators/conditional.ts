import { isPlainObject } from "../../bson-types.ts";
import type { Evaluator } from "../../types.ts";
import { compileArgs, describeValue, expectObjectArgs, type ExprContext } from "../context.ts";
import { foldConstants } from "../fold.ts";
import { isTruthy } from "../truthiness.ts";

function compileCond(args: unknown, ctx: ExprContext): Evaluator {
  let test: Evaluator;
  let then: Evaluator;
  let otherwise: Evaluator;
  if (Array.isArray(args)) {
    [test, then, otherwise] = compileArgs(args, ctx, 3);
  } else {
    const obj = expectObjectArgs(args, ctx, ["if", "then", "else"]);
    test = ctx.compile(obj.if, `${ctx.path}.if`);
    then = ctx.compile(obj.then, `${ctx.path}.then`);
    otherwise = ctx.compile(obj.else, `${ctx.path}.else`);
  }
  return (root, vars) => (isTruthy(test(root, vars)) ? then(root, vars) : otherwise(root, vars));
}

/** `$ifNull: [e1, …, replacement]`: the first of e1… that is neither null nor missing, else the replacement. */
function compileIfNull(args: unknown, ctx: ExprContext): Evaluator {
  const items = compileArgs(args, ctx, 2, Infinity);
  const last = items.length - 1;
  if (last === 1) {
    const [a, b] = items;
    return (root, vars) => a(root, vars) ?? b(root, vars);
  }
  return (root, vars) => {
    for (let i = 0; i < last; i++) {
      const v = items[i](root, vars);
      if (v !== null && v !== undefined) return v;
    }
    return items[last](root, vars);
  };
}

function compileSwitch(args: unknown, ctx: ExprContext): Evaluator {
  const obj = expectObjectArgs(args, ctx, ["branches"], ["default"]);
  const branchesPath = `${ctx.path}.branches`;
  if (!Array.isArray(obj.branches)) {
    throw ctx.error(`expected an array of branches, got ${describeValue(obj.branches)}`, branchesPath);
  }
  if (obj.branches.length === 0) throw ctx.error("$switch requires at least one branch", branchesPath);
  const cases: Evaluator[] = [];
  const thens: Evaluator[] = [];
  obj.branches.forEach((branch: unknown, i) => {
    const path = `${branchesPath}[${i}]`;
    if (!isPlainObject(branch)) {
      throw ctx.error(`$switch expected each branch to be an object, found ${describeValue(branch)}`, path);
    }
    for (const key of Object.keys(branch)) {
      if (key !== "case" && key !== "then")
        throw ctx.error(`$switch found an unknown argument to a branch: ${key}`, path);
    }
    if (!("case" in branch)) throw ctx.error("$switch requires each branch have a 'case' expression", path);
    if (!("then" in branch)) throw ctx.error("$switch requires each branch have a 'then' expression", path);
    cases.push(ctx.compile(branch.case, `${path}.case`));
    thens.push(ctx.compile(branch.then, `${path}.then`));
  });
  const fallback = "default" in obj ? ctx.compile(obj.default, `${ctx.path}.default`) : undefined;
  return (root, vars) => {
    for (let i = 0; i < cases.length; i++) {
      if (isTruthy(cases[i](root, vars))) return thens[i](root, vars);
    }
    if (fallback) return fallback(root, vars);
    throw ctx.runtimeError(
      "$switch could not find a matching branch for an input, and no default was specified.",
      40066,
    );
  };
}

export const conditionalOperators = foldConstants({
  $cond: compileCond,
  $ifNull: compileIfNull,
  $switch: compileSwitch,
});
