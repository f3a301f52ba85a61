import { isPlainObject } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import { compileExpression } from "../expression/compile.ts";
import type { CompileOptions, Evaluator } from "../types.ts";
import { groupLoops } from "./group-loops.ts";
import { ACCUMULATORS } from "./registry.ts";
import type { AccumulatorContext, CompiledAccumulator, CompiledGroup } from "./types.ts";

/**
 * Compiles a `$group` specification: `_id` (the key expression) and one `{<accumulator>: <argument>}` per
 * output field. Errors name the offending path, e.g. `pipeline[3].$group.avg.$avgg: unknown group operator`.
 */
export function compileGroup(spec: unknown, options: CompileOptions = {}): CompiledGroup {
  const path = options.path ?? "$group";
  if (!isPlainObject(spec))
    throw new MqlCompileError(path, "a group's fields must be specified in an object");
  if (!("_id" in spec)) throw new MqlCompileError(path, "a group specification must include an _id");
  const key = compileExpression(spec._id, { path: `${path}._id` });
  const accumulators: CompiledAccumulator[] = [];
  for (const field of Object.keys(spec)) {
    if (field === "_id") continue;
    accumulators.push(compileField(field, spec[field], `${path}.${field}`));
  }
  return { key, accumulators, ...groupLoops(accumulators) };
}

function compileField(field: string, value: unknown, path: string): CompiledAccumulator {
  if (field.includes("."))
    throw new MqlCompileError(path, `the group aggregate field name '${field}' cannot contain '.'`);
  if (field.startsWith("$"))
    throw new MqlCompileError(path, `the group aggregate field name '${field}' cannot be an operator name`);
  if (!isPlainObject(value)) {
    throw new MqlCompileError(
      path,
      `the group aggregate field '${field}' must be defined as an expression inside an object, e.g. {$sum: 1}`,
    );
  }
  const ops = Object.keys(value);
  if (ops.length !== 1) {
    throw new MqlCompileError(
      path,
      `the computed aggregate '${field}' must specify exactly one operator, found ${ops.length}`,
    );
  }
  const [op] = ops;
  const opPath = `${path}.${op}`;
  const compiler = Object.hasOwn(ACCUMULATORS, op) ? ACCUMULATORS[op] : undefined;
  if (!compiler) throw new MqlCompileError(opPath, `unknown group operator '${op}'`);
  const { argument, spec } = compiler(value[op], accumulatorContext(opPath, op));
  return { field, argument, spec };
}

function accumulatorContext(path: string, operator: string): AccumulatorContext {
  return {
    path,
    operator,
    compile: (expr: unknown, childPath: string): Evaluator => compileExpression(expr, { path: childPath }),
    error: (detail: string, at: string = path) => new MqlCompileError(at, detail),
  };
}
