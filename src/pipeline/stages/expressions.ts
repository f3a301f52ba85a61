import { isPlainObject } from "../../mql/bson-types.ts";
import { compileExpression, type Evaluator } from "../../mql/index.ts";
import { compileAt, type PlanContext } from "../context.ts";
import type { Spec } from "../spec.ts";

/**
 * Compiles option `field` of `spec` as an expression (literals become constants) into `into[key]`.
 * Returns false when it failed to compile.
 */
export function compileOption(
  ctx: PlanContext,
  spec: Spec,
  field: string,
  into: Record<string, Evaluator>,
  key: string = field,
  variables?: readonly string[],
): boolean {
  if (!spec.has(field)) return true;
  const path = spec.fieldPath(field);
  const evaluate = compileAt(ctx, path, () => compileExpression(spec.raw(field), { path, variables }));
  if (evaluate) into[key] = evaluate;
  return evaluate !== undefined;
}

/** Compiles each value of an object option (`parameters`, `headers`, `let`) into `into["<field>.<name>"]`. */
export function compileOptionMap(
  ctx: PlanContext,
  spec: Spec,
  field: string,
  into: Record<string, Evaluator>,
): void {
  const map = spec.doc(field);
  if (!map) return;
  for (const [name, expr] of Object.entries(map)) {
    const path = `${spec.fieldPath(field)}.${name}`;
    const evaluate = compileAt(ctx, path, () => compileExpression(expr, { path }));
    if (evaluate) into[`${field}.${name}`] = evaluate;
  }
}

/** A string literal, a `"$field"` path, or an expression object (ASP's "string or expression" options). */
export function checkStringOrExpression(spec: Spec, field: string, required = false): boolean {
  const value = spec.raw(field);
  if (value === undefined) {
    if (required) spec.missing(field);
    return !required;
  }
  if (typeof value === "string" || isPlainObject(value)) return true;
  spec.wrongType(field, "[string, object]");
  return false;
}

/** Checks a "string or expression" option and, when it is well-formed, compiles it into `into[field]`. */
export function compileStringOrExpression(
  ctx: PlanContext,
  spec: Spec,
  field: string,
  into: Record<string, Evaluator>,
  required = false,
): void {
  if (checkStringOrExpression(spec, field, required)) compileOption(ctx, spec, field, into);
}
