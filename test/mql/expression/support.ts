// Helpers the expression operator tests share: evaluate an expression against a document.
import { compileExpression } from "../../../src/mql/expression/compile.ts";
import { MqlRuntimeError } from "../../../src/mql/errors.ts";
import type { Doc } from "../../../src/mql/types.ts";

/** Compiles `expr` (at path "e") and evaluates it against `doc` with no variables. */
export const run = (expr: unknown, doc: Doc = {}): unknown => compileExpression(expr, { path: "e" })(doc, {});

/** The MqlRuntimeError evaluating `expr` against `doc` throws; fails when it throws nothing or another error. */
export function runtimeError(expr: unknown, doc: Doc = {}): MqlRuntimeError {
  try {
    run(expr, doc);
  } catch (err) {
    if (err instanceof MqlRuntimeError) return err;
    throw err;
  }
  throw new Error(`expected a runtime error from ${JSON.stringify(expr)}`);
}
