import { isPlainObject } from "../bson-types.ts";
import { MqlRuntimeError } from "../errors.ts";
import { childVars } from "../expression/context.ts";
import { compileExpression } from "../expression/compile.ts";
import type { CompileOptions, Doc, Vars } from "../types.ts";
import { formatValueForError } from "./describe-value.ts";

const NO_VARS: Vars = Object.freeze({}) as Vars;

/** A compiled `$redact`: the redacted document, or undefined when the top level is pruned. */
export type DocRedactor = (doc: Doc, vars?: Vars) => Doc | undefined;

/**
 * Compiles `$redact`. The expression runs at each (sub)document level with `$$CURRENT` (and plain field
 * paths) bound to that level and `$$ROOT` to the whole document; it must return `$$DESCEND`, `$$PRUNE` or
 * `$$KEEP`. Descending visits subdocuments and subdocuments inside arrays; other values are kept.
 */
export function compileRedact(spec: unknown, options: CompileOptions = {}): DocRedactor {
  const path = options.path ?? "$redact";
  const evaluate = compileExpression(spec, { path, currentFromVars: true, variables: options.variables });
  const redactLevel = (current: Doc, root: Doc, vars: Vars): Doc | undefined => {
    const scope = childVars(vars);
    scope.CURRENT = current;
    const verdict = evaluate(root, scope);
    if (verdict === "keep") return current;
    if (verdict === "prune") return undefined;
    if (verdict !== "descend") {
      throw new MqlRuntimeError(
        "$redact",
        path,
        `$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned ${formatValueForError(verdict)}`,
        17053,
      );
    }
    const out: Doc = {};
    for (const key in current) {
      const value = redactValue(current[key], root, vars, redactLevel);
      if (value !== undefined) out[key] = value;
    }
    return out;
  };
  return (doc, vars = NO_VARS) => redactLevel(doc, doc, vars);
}

function redactValue(
  value: unknown,
  root: Doc,
  vars: Vars,
  redactLevel: (d: Doc, r: Doc, v: Vars) => Doc | undefined,
): unknown {
  if (isPlainObject(value)) return redactLevel(value, root, vars);
  if (!Array.isArray(value)) return value;
  const out: unknown[] = [];
  for (const element of value) {
    if (isPlainObject(element) || Array.isArray(element)) {
      const redacted = redactValue(element, root, vars, redactLevel);
      if (redacted !== undefined) out.push(redacted);
    } else {
      out.push(element);
    }
  }
  return out;
}
