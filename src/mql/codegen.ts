/**
 * Small code generator for the per-document hot paths (field reads, projections, query conjunctions).
 *
 * Why generate code at all: V8 keeps inline caches per function *literal*, so every closure made by one
 * factory (`(doc) => doc[field]` for every field of every pipeline) shares one cache, which goes
 * megamorphic as soon as a processor reads a few different fields. A function generated for one spec has
 * caches of its own, sees one document shape and becomes a few monomorphic property loads and stores.
 *
 * Only field names and numbers ever become source text, always as JSON string literals; everything else
 * (compiled evaluators, constants, helpers) is passed in as a binding. When the host forbids code
 * generation from strings (`--disallow-code-generation-from-strings`), {@link generateFunction} returns
 * undefined and callers keep their closure-based implementation.
 */

let codegenAvailable: boolean | undefined;
let disabledDepth = 0;

/**
 * Builds a function from `body`, which must `return` it; `bindings` become its free variables. Undefined
 * when the runtime does not allow code generation from strings.
 */
export function generateFunction<F>(
  bindings: Readonly<Record<string, unknown>>,
  body: string,
): F | undefined {
  if (codegenAvailable === false || disabledDepth > 0) return undefined;
  const names = Object.keys(bindings);
  let factory: (...values: unknown[]) => F;
  try {
    factory = new Function(...names, `"use strict";\n${body}`) as (...values: unknown[]) => F;
  } catch (error) {
    if (error instanceof EvalError) {
      codegenAvailable = false;
      return undefined;
    }
    throw error;
  }
  codegenAvailable = true;
  return factory(...names.map((name) => bindings[name]));
}

/**
 * A string, boolean or number as JS source: `obj[<string literal>]` compiles to a named access, and a
 * constant operand lets the optimiser fold it.
 */
export function literal(value: string | number | boolean): string {
  if (typeof value === "number" && !Number.isFinite(value))
    return value !== value ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  if (Object.is(value, -0)) return "-0";
  return JSON.stringify(value);
}

/**
 * Runs `compile` with code generation off, so everything it compiles uses the closure-based fallbacks
 * (what a host without code generation from strings gets). For tests comparing the two forms.
 */
export function withoutCodegen<T>(compile: () => T): T {
  disabledDepth++;
  try {
    return compile();
  } finally {
    disabledDepth--;
  }
}
