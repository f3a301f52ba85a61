import { bsonTypeOf, isPlainObject } from "../bson-types.ts";
import { MqlCompileError, MqlRuntimeError } from "../errors.ts";
import { compileExpression } from "../expression/compile.ts";
import type { CompileOptions, Doc, Vars } from "../types.ts";
import { formatValueForError } from "./describe-value.ts";
import type { DocTransform } from "./project.ts";

const NO_VARS: Vars = Object.freeze({}) as Vars;

/** Compiles `$replaceRoot: {newRoot: <expr>}`. */
export function compileReplaceRoot(spec: unknown, options: CompileOptions = {}): DocTransform {
  const path = options.path ?? "$replaceRoot";
  if (!isPlainObject(spec))
    throw new MqlCompileError(path, "expected an object as specification for $replaceRoot stage");
  for (const key of Object.keys(spec)) {
    if (key !== "newRoot")
      throw new MqlCompileError(`${path}.${key}`, `unrecognized option to $replaceRoot stage: ${key}`);
  }
  if (!("newRoot" in spec))
    throw new MqlCompileError(path, "no newRoot specified for the $replaceRoot stage");
  return replaceWith(spec.newRoot, `${path}.newRoot`, "$replaceRoot", options.variables);
}

/** Compiles `$replaceWith: <expr>` (same as `$replaceRoot: {newRoot: <expr>}`). */
export function compileReplaceWith(spec: unknown, options: CompileOptions = {}): DocTransform {
  return replaceWith(spec, options.path ?? "$replaceWith", "$replaceWith", options.variables);
}

function replaceWith(
  expr: unknown,
  path: string,
  stage: string,
  variables: readonly string[] | undefined,
): DocTransform {
  const evaluate = compileExpression(expr, { path, variables });
  return (doc, vars = NO_VARS) => {
    const value = evaluate(doc, vars);
    if (isPlainObject(value)) return value as Doc;
    throw new MqlRuntimeError(
      stage,
      path,
      `'newRoot' expression must evaluate to an object, but resulting value was: ${formatValueForError(value)}. ` +
        `Type of resulting value: '${bsonTypeOf(value)}'. Input document: ${formatValueForError(doc)}`,
      40228,
    );
  };
}
