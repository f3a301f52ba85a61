import { Code } from "bson";
import type { MqlCompileError } from "./errors.ts";

/** A JavaScript function as `$function` and `$accumulator` receive it. */
export type JsFunction = (...args: unknown[]) => unknown;

/**
 * Compiles a JavaScript function given as source text (a string or a bson `Code`) or as a function.
 * Eddy's policy for server-side JavaScript: it runs in-process through `new Function` (no sandbox), so only
 * pipelines from trusted authors should use it (docs/mql-differences.md).
 */
export function compileJsFunction(
  body: unknown,
  field: string,
  path: string,
  error: (detail: string, path: string) => MqlCompileError,
): JsFunction {
  if (typeof body === "function") return body as JsFunction;
  const source = typeof body === "string" ? body : body instanceof Code ? body.code : undefined;
  if (source === undefined)
    throw error(`'${field}' must be a JavaScript function source string, got ${describeJs(body)}`, path);
  let fn: unknown;
  try {
    fn = new Function(`"use strict"; return (${source});`)();
  } catch (err) {
    throw error(
      `'${field}' is not valid JavaScript: ${err instanceof Error ? err.message : String(err)}`,
      path,
    );
  }
  if (typeof fn !== "function") throw error(`'${field}' must evaluate to a function`, path);
  return fn as JsFunction;
}

function describeJs(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}
