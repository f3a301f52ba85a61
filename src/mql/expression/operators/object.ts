import { bsonTypeOf, isPlainObject } from "../../bson-types.ts";
import { mergeObjectInto } from "../../merge-objects.ts";
import type { Doc, Evaluator } from "../../types.ts";
import { compileArgs, expectObjectArgs, type ExprContext, type OperatorTable } from "../context.ts";

/** `$mergeObjects: [doc…]`: later fields win; null and missing arguments are skipped. */
function compileMergeObjects(args: unknown, ctx: ExprContext): Evaluator {
  const items = compileArgs(args, ctx, 0, Infinity);
  return (root, vars) => {
    const out: Doc = {};
    for (const item of items) {
      mergeObjectInto(out, item(root, vars), describeInput, (message) => ctx.runtimeError(message, 40400));
    }
    return out;
  };
}

function describeInput(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v instanceof Date) return v.toISOString();
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * The `field` argument of `$getField`/`$setField`/`$unsetField`: a constant string (which may start with `$`
 * only through `$literal`) or, for `$getField`, an expression evaluated per document.
 */
function compileFieldName(field: unknown, ctx: ExprContext, allowExpression: boolean): Evaluator | string {
  const path = `${ctx.path}.field`;
  if (typeof field === "string" && !field.startsWith("$")) return field;
  if (isPlainObject(field) && Object.keys(field).length === 1 && "$literal" in field) {
    const literal = field.$literal;
    if (typeof literal !== "string")
      throw ctx.error(`'field' must be a string, got ${bsonTypeOf(literal)}`, path);
    return literal;
  }
  if (!allowExpression) throw ctx.error("requires 'field' to evaluate to a constant of type string", path);
  if (typeof field !== "string" && !isPlainObject(field))
    throw ctx.error(`'field' must be a string, got ${bsonTypeOf(field)}`, path);
  return ctx.compile(field, path);
}

function compileGetField(args: unknown, ctx: ExprContext): Evaluator {
  const obj =
    isPlainObject(args) && ("field" in args || "input" in args)
      ? expectObjectArgs(args, ctx, ["field"], ["input"])
      : { field: args };
  const field = compileFieldName(obj.field, ctx, true);
  const input =
    "input" in obj
      ? ctx.compile(obj.input, `${ctx.path}.input`)
      : ctx.compile("$$CURRENT", `${ctx.path}.input`);
  const read = (target: unknown, name: string): unknown => {
    if (isPlainObject(target)) return target[name];
    if (target === null || target === undefined) return null;
    throw ctx.runtimeError(
      `$getField requires 'input' to evaluate to type Object, but got ${bsonTypeOf(target)}`,
      3041705,
    );
  };
  if (typeof field === "string") return (root, vars) => read(input(root, vars), field);
  return (root, vars) => {
    const name = field(root, vars);
    if (typeof name !== "string") {
      throw ctx.runtimeError(
        `$getField requires 'field' to evaluate to type String, but got ${bsonTypeOf(name)}`,
        5654602,
      );
    }
    return read(input(root, vars), name);
  };
}

/** `$setField` (and `$unsetField`, whose value is always missing): a copy of `input` with one field changed. */
function compileFieldUpdate(args: unknown, ctx: ExprContext, unset: boolean): Evaluator {
  const obj = unset
    ? expectObjectArgs(args, ctx, ["field", "input"])
    : expectObjectArgs(args, ctx, ["field", "input", "value"]);
  const field = compileFieldName(obj.field, ctx, false) as string;
  const input = ctx.compile(obj.input, `${ctx.path}.input`);
  const value = unset ? undefined : ctx.compile(obj.value, `${ctx.path}.value`);
  return (root, vars) => {
    const target = input(root, vars);
    if (target === null || target === undefined) return null;
    if (!isPlainObject(target)) {
      throw ctx.runtimeError(`${ctx.operator} requires 'input' to evaluate to type Object`, 4161105);
    }
    const v = value ? value(root, vars) : undefined;
    const out: Doc = { ...target };
    if (v === undefined) delete out[field];
    else out[field] = v;
    return out;
  };
}

export const objectOperators: OperatorTable = {
  $mergeObjects: compileMergeObjects,
  $getField: compileGetField,
  $setField: (args, ctx) => compileFieldUpdate(args, ctx, false),
  $unsetField: (args, ctx) => compileFieldUpdate(args, ctx, true),
};
