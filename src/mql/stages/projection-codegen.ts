import { generateFunction, literal } from "../codegen.ts";
import type { Doc, Evaluator, Vars } from "../types.ts";
import type { ProjectionNode } from "./projection-tree.ts";

/**
 * Generated forms of the projection loops (see `codegen.ts` for why): one function per level of a spec,
 * with the level's field names as constants, so every store into the document being built is a
 * monomorphic named store instead of a megamorphic keyed one.
 */

/** Phase one of an inclusion level: `(input) => output` with the included fields in input order. */
export type IncludeLevel = (input: Doc) => Doc;

/** Phase two of a level: adds its computed fields to `out` in place. */
export type ApplyLevel = (out: Doc, root: Doc, vars: Vars) => void;

/** More fields than this per level: a `switch` over every key costs more than the generic Map lookup. */
const MAX_SWITCH_CASES = 24;

/** A field phase one copies (`child` undefined) or descends into (`child` = its sub-level). */
export interface IncludedField {
  readonly key: string;
  readonly child: ProjectionNode | undefined;
}

/**
 * `for (key in input) switch (key) { case "a": … }` — one case per included field or sub-level of a
 * level. `includeValue` applies a sub-level to a value (documents projected, arrays mapped).
 */
export function generateIncludeLevel(
  fields: readonly IncludedField[],
  includeValue: (node: ProjectionNode, value: unknown) => unknown,
): IncludeLevel | undefined {
  if (fields.length > MAX_SWITCH_CASES) return undefined;
  const bindings: Record<string, unknown> = { includeValue };
  const cases: string[] = [];
  for (const { key, child } of fields) {
    const name = literal(key);
    if (child === undefined) {
      cases.push(
        `case ${name}: { const value = input[${name}]; if (value !== undefined) out[${name}] = value; break; }`,
      );
    } else {
      const binding = `child${cases.length}`;
      bindings[binding] = child;
      cases.push(
        `case ${name}: { const value = includeValue(${binding}, input[${name}]); ` +
          `if (value !== undefined) out[${name}] = value; break; }`,
      );
    }
  }
  return generateFunction<IncludeLevel>(
    bindings,
    `return function includeLevel(input) {
  const out = {};
  for (const key in input) {
    switch (key) {
      ${cases.join("\n      ")}
    }
  }
  return out;
};`,
  );
}

/**
 * The level's computed fields in spec order: a value is set (an existing field keeps its place), a missing
 * one removes the field; sub-levels go through `computedValue` (which copies subdocuments when `copy`).
 */
export function generateApplyLevel(
  node: ProjectionNode,
  copy: boolean,
  computedValue: (node: ProjectionNode, value: unknown, root: Doc, vars: Vars, copy: boolean) => unknown,
): ApplyLevel | undefined {
  const bindings: Record<string, unknown> = { computedValue };
  const statements: string[] = [];
  node.orderKeys.forEach((key, i) => {
    const name = literal(key);
    const evaluate: Evaluator | undefined = node.orderComputed[i];
    if (evaluate !== undefined) {
      bindings[`compute${i}`] = evaluate;
      statements.push(
        `value = compute${i}(root, vars);\n` +
          `  if (value !== undefined) out[${name}] = value;\n` +
          `  else if (${name} in out) delete out[${name}];`,
      );
    } else {
      bindings[`child${i}`] = node.orderChildren[i];
      statements.push(`out[${name}] = computedValue(child${i}, out[${name}], root, vars, ${copy});`);
    }
  });
  return generateFunction<ApplyLevel>(
    bindings,
    `return function applyLevel(out, root, vars) {
  let value;
  ${statements.join("\n  ")}
};`,
  );
}

/**
 * A whole stage, so that its object allocation (`{...doc}` for `$addFields`, the new document of
 * `$project`) has a per-stage inline cache too. `start` is the source of the initial output document.
 */
export function generateStage(
  start: "copy" | "empty" | "include",
  include: IncludeLevel | undefined,
  apply: ApplyLevel,
  noVars: Vars,
): ((doc: Doc, vars?: Vars) => Doc) | undefined {
  const init = start === "copy" ? "{ ...doc }" : start === "empty" ? "{}" : "include(doc)";
  return generateFunction(
    { include, apply, NO_VARS: noVars },
    `return function stage(doc, vars) {
  if (vars === undefined) vars = NO_VARS;
  const out = ${init};
  apply(out, doc, vars);
  return out;
};`,
  );
}
