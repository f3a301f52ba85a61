/**
 * Binds `$$name` references in a pipeline sent to the server to literal values, so `$lookup`'s `let`
 * variables work on any server (including ones without `let` support in `aggregate`). `asLiteral` false
 * binds the bare values, for a query filter (where `$literal` is not an operator).
 */
import { isPlainObject } from "../../mql/bson-types.ts";

export function bindVariables(
  value: unknown,
  vars: Readonly<Record<string, unknown>>,
  asLiteral = true,
): unknown {
  if (typeof value === "string") return bindString(value, vars, asLiteral);
  if (Array.isArray(value)) return value.map((item) => bindVariables(item, vars, asLiteral));
  if (isPlainObject(value)) {
    if ("$literal" in value) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = bindVariables(item, vars, asLiteral);
    return out;
  }
  return value;
}

function bindString(text: string, vars: Readonly<Record<string, unknown>>, asLiteral: boolean): unknown {
  if (!text.startsWith("$$")) return text;
  const [name, ...path] = text.slice(2).split(".");
  if (!(name in vars)) return text;
  let resolved: unknown = vars[name];
  for (const part of path) resolved = isPlainObject(resolved) ? resolved[part] : undefined;
  const bound = resolved === undefined ? null : resolved;
  return asLiteral ? { $literal: bound } : bound;
}
