import { isPlainObject } from "../../bson-types.ts";
import type { Evaluator } from "../../types.ts";
import {
  childVars,
  describeValue,
  expectObjectArgs,
  type ExprContext,
  type OperatorTable,
} from "../context.ts";

/** `$let: {vars: {name: expr…}, in: expr}`: the vars are evaluated in the outer scope and visible only in `in`. */
function compileLet(args: unknown, ctx: ExprContext): Evaluator {
  const obj = expectObjectArgs(args, ctx, ["vars", "in"]);
  const varsPath = `${ctx.path}.vars`;
  if (!isPlainObject(obj.vars))
    throw ctx.error(`expected an object of variables, got ${describeValue(obj.vars)}`, varsPath);
  const names = Object.keys(obj.vars);
  const values = names.map((name) =>
    ctx.compile((obj.vars as Record<string, unknown>)[name], `${varsPath}.${name}`),
  );
  const body = ctx.withVariables(names).compile(obj.in, `${ctx.path}.in`);
  if (names.length === 1) {
    const [name] = names;
    const [value] = values;
    return (root, vars) => {
      const scope = childVars(vars);
      scope[name] = value(root, vars);
      return body(root, scope);
    };
  }
  return (root, vars) => {
    const scope = childVars(vars);
    for (let i = 0; i < names.length; i++) scope[names[i]] = values[i](root, vars);
    return body(root, scope);
  };
}

export const variableOperators: OperatorTable = {
  $let: compileLet,
  $literal: (args) => () => args,
  // MongoDB's undocumented alias of `$literal`, still accepted by the server.
  $const: (args) => () => args,
};
