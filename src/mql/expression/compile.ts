import { isPlainObject } from "../bson-types.ts";
import { MqlCompileError, MqlRuntimeError } from "../errors.ts";
import type { CompileOptions, Doc, Evaluator, Vars } from "../types.ts";
import { describeValue, type ExprContext, type OperatorTable } from "./context.ts";
import { compilePathReader, compileRootPathReader } from "./field-path.ts";
import { OPERATORS } from "./operators/index.ts";

export interface ExpressionOptions extends CompileOptions {
  /** Field paths and `$$CURRENT` read `vars.CURRENT` instead of the root (for `$redact`'s subdocument walk). */
  readonly currentFromVars?: boolean;
}

/** Variables every expression may read; `REMOVE` yields missing, the `$redact` ones yield their keywords. */
const SYSTEM_VARIABLES: Readonly<Record<string, Evaluator>> = {
  ROOT: (root) => root,
  REMOVE: () => undefined,
  NOW: (_root, vars) => (vars.NOW instanceof Date ? vars.NOW : new Date()),
  CLUSTER_TIME: (_root, vars) => vars.CLUSTER_TIME,
  DESCEND: () => "descend",
  PRUNE: () => "prune",
  KEEP: () => "keep",
};

/**
 * Compiles an aggregation expression once into a closure `(root, vars) => value`.
 * An absent result (missing field, `$$REMOVE`) is `undefined`. Evaluators may return shared constant
 * values: callers must not mutate what they get back.
 */
export function compileExpression(expr: unknown, options: ExpressionOptions = {}): Evaluator {
  const scope = new Scope(
    options.path ?? "",
    "",
    new Set(options.variables ?? []),
    options.currentFromVars === true,
    OPERATORS,
  );
  return scope.compile(expr, options.path ?? "");
}

/** True when `expr` is a constant with no field paths, variables or operators. */
export function isLiteralExpression(expr: unknown): boolean {
  if (typeof expr === "string") return !expr.startsWith("$");
  if (Array.isArray(expr)) return expr.every(isLiteralExpression);
  if (isPlainObject(expr)) {
    const keys = Object.keys(expr);
    if (keys.length === 1 && (keys[0] === "$literal" || keys[0] === "$const")) return true;
    return keys.every((k) => !k.startsWith("$") && isLiteralExpression(expr[k]));
  }
  return true;
}

class Scope implements ExprContext {
  readonly path: string;
  readonly operator: string;
  private readonly variables: ReadonlySet<string>;
  /** True once `CURRENT` has been rebound by `$let`, so field paths must read `vars.CURRENT`. */
  private readonly currentRebound: boolean;
  private readonly operators: OperatorTable;

  constructor(
    path: string,
    operator: string,
    variables: ReadonlySet<string>,
    currentRebound: boolean,
    operators: OperatorTable,
  ) {
    this.path = path;
    this.operator = operator;
    this.variables = variables;
    this.currentRebound = currentRebound;
    this.operators = operators;
  }

  hasVariable(name: string): boolean {
    return this.variables.has(name) || name in SYSTEM_VARIABLES || name === "CURRENT";
  }

  withVariables(names: readonly string[]): ExprContext {
    for (const name of names) validateVariableName(name, this);
    const merged = new Set(this.variables);
    for (const name of names) merged.add(name);
    return new Scope(
      this.path,
      this.operator,
      merged,
      this.currentRebound || names.includes("CURRENT"),
      this.operators,
    );
  }

  error(detail: string, path: string = this.path): MqlCompileError {
    return new MqlCompileError(path, detail);
  }

  runtimeError(message: string, code?: number): MqlRuntimeError {
    return new MqlRuntimeError(this.operator, this.path, message, code);
  }

  compile(expr: unknown, path: string): Evaluator {
    if (typeof expr === "string") return this.compileString(expr, path);
    if (Array.isArray(expr)) return this.compileArray(expr, path);
    if (isPlainObject(expr)) return this.compileObject(expr, path);
    return constant(expr);
  }

  private compileString(expr: string, path: string): Evaluator {
    if (!expr.startsWith("$")) return constant(expr);
    if (expr.startsWith("$$")) return this.compileVariable(expr.slice(2), path);
    if (expr === "$") throw this.error("'$' by itself is not a valid field path", path);
    const parts = splitPath(expr.slice(1), this, path);
    if (this.currentRebound) {
      const read = compilePathReader(parts);
      return (_root, vars) => read(vars.CURRENT);
    }
    return compileRootPathReader(parts);
  }

  private compileVariable(text: string, path: string): Evaluator {
    const [name, ...rest] = text.split(".");
    if (!name) throw this.error(`'$$${text}' is not a valid variable reference`, path);
    const base = this.variableReader(name, path);
    if (rest.length === 0) return base;
    const read = compilePathReader(splitPath(rest.join("."), this, path));
    return (root, vars) => read(base(root, vars));
  }

  private variableReader(name: string, path: string): Evaluator {
    if (name === "CURRENT") return this.currentRebound ? (_root, vars) => vars.CURRENT : (root) => root;
    const system = SYSTEM_VARIABLES[name];
    if (system && !this.variables.has(name)) return system;
    if (!this.variables.has(name)) throw this.error(`Use of undefined variable: ${name}`, path);
    return (_root, vars) => vars[name];
  }

  private compileArray(expr: readonly unknown[], path: string): Evaluator {
    const items = expr.map((item, i) => this.compile(item, `${path}[${i}]`));
    return (root, vars) => {
      const out = new Array<unknown>(items.length);
      for (let i = 0; i < items.length; i++) {
        const v = items[i](root, vars);
        out[i] = v === undefined ? null : v;
      }
      return out;
    };
  }

  private compileObject(expr: Record<string, unknown>, path: string): Evaluator {
    const keys = Object.keys(expr);
    if (keys.length > 0 && keys[0].startsWith("$")) {
      if (keys.length !== 1) {
        throw this.error(
          `an expression specification must contain exactly one field, the name of the expression; found ${keys.length} fields (${keys.join(", ")})`,
          path,
        );
      }
      return this.compileOperator(keys[0], expr[keys[0]], path);
    }
    const fields: Array<[string, Evaluator]> = [];
    for (const key of keys) {
      const childPath = path ? `${path}.${key}` : key;
      if (key.startsWith("$"))
        throw this.error(`field name '${key}' may not start with '$' in an expression object`, childPath);
      if (key.includes("."))
        throw this.error(`field name '${key}' may not contain '.' in an expression object`, childPath);
      fields.push([key, this.compile(expr[key], childPath)]);
    }
    return (root, vars) => {
      const out: Doc = {};
      for (const [key, evaluate] of fields) {
        const v = evaluate(root, vars);
        if (v !== undefined) out[key] = v;
      }
      return out;
    };
  }

  private compileOperator(name: string, args: unknown, path: string): Evaluator {
    const compiler = this.operators[name];
    const opPath = path ? `${path}.${name}` : name;
    if (!compiler) throw this.error(`Unrecognized expression '${name}'`, opPath);
    const ctx = new Scope(opPath, name, this.variables, this.currentRebound, this.operators);
    return compiler(args, ctx);
  }
}

function constant(value: unknown): Evaluator {
  return () => value;
}

function splitPath(text: string, ctx: ExprContext, path: string): string[] {
  const parts = text.split(".");
  for (const part of parts) {
    if (part === "") throw ctx.error(`field path '$${text}' has an empty component`, path);
    if (part.startsWith("$")) throw ctx.error(`field path component '${part}' may not start with '$'`, path);
  }
  return parts;
}

function validateVariableName(name: string, ctx: ExprContext): void {
  if (name === "CURRENT") return;
  if (!/^[a-z\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*$/.test(name)) {
    throw ctx.error(
      `'${name}' is not a valid variable name: it must start with a lowercase letter or a non-ASCII character and contain only letters, digits and '_'`,
    );
  }
}

/** Evaluates a compiled expression with a fresh variable scope (helper for callers without their own vars). */
export function evaluate(evaluator: Evaluator, root: Doc, vars: Vars = {}): unknown {
  return evaluator(root, vars);
}

export { describeValue };
