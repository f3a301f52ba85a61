import type { Evaluator } from "../types.ts";
import type { OperatorCompiler, OperatorTable } from "./context.ts";
import { isLiteralExpression } from "./compile.ts";

const EMPTY = Object.freeze({});

/**
 * Wraps deterministic operator compilers so that an operator whose arguments are all constants is evaluated
 * once at compile time. A constant expression that fails is left to fail per document, as MongoDB reports it.
 */
export function foldConstants(table: Record<string, OperatorCompiler>): OperatorTable {
  const out: Record<string, OperatorCompiler> = {};
  for (const [name, compiler] of Object.entries(table)) {
    out[name] = (args, ctx) => {
      const evaluator = compiler(args, ctx);
      if (!isLiteralExpression(args)) return evaluator;
      return tryFold(evaluator);
    };
  }
  return out;
}

function tryFold(evaluator: Evaluator): Evaluator {
  let value: unknown;
  try {
    value = evaluator(EMPTY, EMPTY);
  } catch {
    return evaluator;
  }
  return () => value;
}
