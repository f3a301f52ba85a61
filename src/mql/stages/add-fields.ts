import { isPlainObject } from "../bson-types.ts";
import { MqlCompileError } from "../errors.ts";
import { compileExpression } from "../expression/compile.ts";
import type { CompileOptions, Doc, Vars } from "../types.ts";
import { childPath, splitFieldPath } from "./field-name.ts";
import type { DocTransform } from "./project.ts";
import { generateStage } from "./projection-codegen.ts";
import { ProjectionNode } from "./projection-tree.ts";

const NO_VARS: Vars = Object.freeze({}) as Vars;

/**
 * Compiles `$addFields` (alias `$set`): each field is set to its expression's value, evaluated against the
 * input document. Existing fields keep their place, new ones are appended; a missing result removes the
 * field. Dotted paths and nested objects (`{a: {b: 1}}` merges into `a`) create subdocuments, and a path
 * through an array sets the field in every element, as MongoDB does.
 */
export function compileAddFields(
  spec: unknown,
  options: CompileOptions & { stage?: string } = {},
): DocTransform {
  const stage = options.stage ?? "$addFields";
  const path = options.path ?? stage;
  if (!isPlainObject(spec)) throw new MqlCompileError(path, `${stage} specification stage must be an object`);
  const root = new ProjectionNode();
  parseLevel(spec, [], path, root, stage, options.variables);
  root.freeze();
  const apply = root.applier(true);
  return (
    generateStage("copy", undefined, apply, NO_VARS) ??
    ((doc, vars = NO_VARS) => {
      const out: Doc = { ...doc };
      apply(out, doc, vars);
      return out;
    })
  );
}

function parseLevel(
  spec: Record<string, unknown>,
  prefix: readonly string[],
  path: string,
  root: ProjectionNode,
  stage: string,
  variables: readonly string[] | undefined,
): void {
  for (const key of Object.keys(spec)) {
    const keyPath = childPath(path, key);
    const parts = [...prefix, ...splitFieldPath(key, keyPath, stage)];
    const value = spec[key];
    if (isPlainObject(value) && Object.keys(value).length > 0 && !Object.keys(value)[0].startsWith("$")) {
      parseLevel(value, parts, keyPath, root, stage, variables);
    } else {
      root.add(parts, compileExpression(value, { path: keyPath, variables }), keyPath, stage);
    }
  }
}
