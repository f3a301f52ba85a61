/**
 * Binds `$$name` references in a pipeline sent to the server to literal values, so `$lookup`'s `let`
 * variables work on any server (including ones without `let` support in `aggregate`).
 */
import { isPlainObject } from "../../mql/bson-types.ts";

export function bindVariables(value: unknown, vars: Readonly<Record<string, unknown>>): unknown {
  if (typeof value === "string") return bindString(value, vars);
  if (Array.isArray(value)) return value.map((item) => bindVariables(item, vars));
  if (isPlainObject(value)) {
    if ("$literal" in value) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = bindVariables(item, vars);
    return out;
  }
  return value;
}

function bindString(text: string, vars: Readonly<Record<string, unknown>>): unknown {
  if (!text.startsWith("$$")) return text;
  const [name, ...path] = text.slice(2).split(".");
  if (!(name in vars)) return text;
  let resolved: unknown = vars[name];
  for (const part of path) resolved = isPlainObject(resolved) ? resolved[part] : undefined;
  return { $literal: resolved === undefined ? null : resolved };
}
