import { MqlCompileError, MqlRuntimeError } from "../errors.ts";
import type { Evaluator, Vars } from "../types.ts";

/** What an operator's compiler gets: its own path, and ways to compile children in the same scope. */
export interface ExprContext {
  /** Path of the operator being compiled, ending in its name, e.g. `pipeline[2].$addFields.ratio.$divide`. */
  readonly path: string;
  /** The operator name, e.g. `$divide`. */
  readonly operator: string;
  /** Compiles a sub-expression in the current variable scope; `path` names it in errors. */
  compile(expr: unknown, path: string): Evaluator;
  /** A scope in which `$$name` is defined for each of `names` (for `$let`, `$map`, `$filter`, `$reduce`…). */
  withVariables(names: readonly string[]): ExprContext;
  /** Whether `$$name` is defined in this scope. */
  hasVariable(name: string): boolean;
  /** A compile error located at `path` (default: this operator's path). */
  error(detail: string, path?: string): MqlCompileError;
  /** A runtime error for this operator with MongoDB's message text. */
  runtimeError(message: string, code?: number): MqlRuntimeError;
}

/** Compiles one operator's argument (`args` is the value under the `$op` key). */
export type OperatorCompiler = (args: unknown, ctx: ExprContext) => Evaluator;

export type OperatorTable = Readonly<Record<string, OperatorCompiler>>;

/**
 * Normalises an operator's arguments to an array (a lone non-array argument counts as one argument),
 * checks the count and compiles each. Error: `<path>: expects 2 arguments, got 3`.
 */
export function compileArgs(args: unknown, ctx: ExprContext, min: number, max: number = min): Evaluator[] {
  const list = Array.isArray(args) ? args : [args];
  if (list.length < min || list.length > max) {
    const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    const noun = min === max && min === 1 ? "argument" : "arguments";
    throw ctx.error(`expects ${expected} ${noun}, got ${list.length}`);
  }
  return list.map((arg, i) => ctx.compile(arg, `${ctx.path}[${i}]`));
}

/** Checks that an operator's argument is an object with only the allowed keys and all required ones. */
export function expectObjectArgs(
  args: unknown,
  ctx: ExprContext,
  required: readonly string[],
  optional: readonly string[] = [],
): Record<string, unknown> {
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw ctx.error(`expects an object with ${describeKeys(required, optional)}, got ${describeValue(args)}`);
  }
  const obj = args as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!required.includes(key) && !optional.includes(key)) {
      throw ctx.error(`unknown argument '${key}' (allowed: ${[...required, ...optional].join(", ")})`);
    }
  }
  for (const key of required) {
    if (!(key in obj)) throw ctx.error(`missing required argument '${key}'`);
  }
  return obj;
}

function describeKeys(required: readonly string[], optional: readonly string[]): string {
  const parts = [...required.map((k) => `'${k}'`), ...optional.map((k) => `optional '${k}'`)];
  return parts.join(", ");
}

/** A short human description of a JSON value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** A child variable scope at run time: reads fall through to `parent`, writes stay local. */
export function childVars(parent: Vars): Vars {
  // A copy, not Object.create(parent): per-document parents would each become a prototype, which V8
  // handles an order of magnitude slower.
  return { ...parent };
}
