import { isPlainObject, toJsNumber } from "../bson-types.ts";
import { generateFunction } from "../codegen.ts";
import { MqlCompileError } from "../errors.ts";
import { compileExpression } from "../expression/compile.ts";
import { isTruthy } from "../expression/truthiness.ts";
import type { Doc, Predicate, Vars } from "../types.ts";
import type { ArrayOperatorContext } from "./array.ts";
import { bindToPath, type Clause } from "./clause.ts";
import { isOperatorObject } from "./comparison.ts";
import { compileFastField } from "./fast-path.ts";
import { compileJsonSchema } from "./json-schema.ts";
import { compileImplicit, compileOperators } from "./operators.ts";

export interface QueryOptions {
  /** JSON path of the filter (e.g. `pipeline[1].$match`); every error message starts with it. */
  readonly path?: string;
  /** Variables `$expr` may read as `$$name`; their values come in the predicate's `vars` argument. */
  readonly variables?: readonly string[];
}

type DocTest = (doc: Doc, vars: Vars | undefined) => boolean;

/** Operators that apply to the whole document rather than a field. */
const PATHLESS: ReadonlySet<string> = new Set([
  "$and",
  "$or",
  "$nor",
  "$expr",
  "$jsonSchema",
  "$where",
  "$text",
  "$comment",
  "$alwaysTrue",
  "$alwaysFalse",
]);

/** `{$ref, $id, $db}` subdocuments are DBRefs, compared literally rather than parsed as operators. */
const DBREF_KEYS: ReadonlySet<string> = new Set(["$ref", "$id", "$db"]);

const NO_VARS: Vars = Object.freeze({});
const ALWAYS: DocTest = () => true;
const NEVER: DocTest = () => false;

/**
 * Compiles a MongoDB query filter (the argument of `$match`) once into a predicate with MongoDB's
 * matching semantics: path traversal through arrays, type bracketing, null/missing equivalence, and
 * every query operator ASP allows. Compile errors name the offending part, e.g.
 * `pipeline[1].$match.price.$gtx: unknown operator '$gtx'`.
 */
export function compileQuery(filter: unknown, options: QueryOptions = {}): Predicate {
  const compiler = new QueryCompiler(options.variables ?? []);
  return compiler.compileFilter(filter, options.path ?? "", false);
}

class QueryCompiler implements ArrayOperatorContext {
  private readonly variables: readonly string[];

  constructor(variables: readonly string[]) {
    this.variables = variables;
  }

  compileFilter(filter: unknown, path: string, inElemMatch: boolean): DocTest {
    if (!isPlainObject(filter)) throw new MqlCompileError(path, "a query filter must be an object");
    const tests: DocTest[] = [];
    for (const key of Object.keys(filter)) {
      const value = filter[key];
      const keyPath = join(path, key);
      if (key.startsWith("$")) tests.push(this.compilePathless(key, value, keyPath, inElemMatch));
      else tests.push(this.compileField(key, value, keyPath));
    }
    const unconditional = tests.filter((t) => t !== ALWAYS);
    if (unconditional.includes(NEVER)) return NEVER;
    return allDocTests(unconditional);
  }

  compileOperators(spec: Record<string, unknown>, path: string): Clause {
    return compileOperators(spec, path, this);
  }

  compileElementFilter(filter: Record<string, unknown>, path: string): (doc: Doc) => boolean {
    const test = this.compileFilter(filter, path, true);
    return (doc) => test(doc, undefined);
  }

  isPathless(name: string): boolean {
    return PATHLESS.has(name);
  }

  private compileField(field: string, value: unknown, path: string): DocTest {
    const fast = compileFastField(field, value);
    if (fast) return fast;
    let clause: Clause;
    if (isOperatorObject(value) && !DBREF_KEYS.has(Object.keys(value)[0])) {
      clause = compileOperators(value, path, this);
    } else {
      clause = compileImplicit(value, path);
    }
    return bindToPath(field, clause);
  }

  private compilePathless(op: string, arg: unknown, path: string, inElemMatch: boolean): DocTest {
    switch (op) {
      case "$and":
      case "$or":
      case "$nor":
        return this.compileLogical(op, arg, path, inElemMatch);
      case "$expr":
        if (inElemMatch)
          throw new MqlCompileError(path, "$expr can only be applied to the top-level document");
        return this.compileExpr(arg, path);
      case "$jsonSchema": {
        const schema = compileJsonSchema(arg, path);
        return (doc) => schema(doc);
      }
      case "$comment":
        return ALWAYS;
      case "$alwaysTrue":
      case "$alwaysFalse":
        if (toJsNumber(arg) !== 1) throw new MqlCompileError(path, `${op} must be an integer value of 1`);
        return op === "$alwaysTrue" ? ALWAYS : NEVER;
      case "$where":
        throw new MqlCompileError(path, "$where is not supported: use $expr instead");
      case "$text":
        throw new MqlCompileError(path, "Cannot use $text in $match stage in Atlas Stream Processing.");
    }
    throw new MqlCompileError(path, `unknown top level operator '${op}'`);
  }

  private compileLogical(
    op: "$and" | "$or" | "$nor",
    arg: unknown,
    path: string,
    inElemMatch: boolean,
  ): DocTest {
    if (!Array.isArray(arg) || arg.length === 0)
      throw new MqlCompileError(path, `${op} must be a nonempty array`);
    const tests = arg.map((item: unknown, i) => {
      if (!isPlainObject(item))
        throw new MqlCompileError(`${path}[${i}]`, `${op} argument's entries must be objects`);
      return this.compileFilter(item, `${path}[${i}]`, inElemMatch);
    });
    if (op === "$and") return allDocTests(tests);
    const any = anyDocTest(tests);
    if (op === "$or") return any;
    return (doc, vars) => !any(doc, vars);
  }

  private compileExpr(arg: unknown, path: string): DocTest {
    const evaluate = compileExpression(arg, { path, variables: this.variables });
    return (doc, vars) => isTruthy(evaluate(doc, vars ?? NO_VARS));
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The conjunction of document tests (two-argument counterpart of `allOf`). */
function allDocTests(tests: readonly DocTest[]): DocTest {
  if (tests.length === 0) return ALWAYS;
  if (tests.length === 1) return tests[0];
  return (
    generateChain(tests, "&&") ??
    ((doc, vars) => {
      for (let i = 0; i < tests.length; i++) if (!tests[i](doc, vars)) return false;
      return true;
    })
  );
}

const MAX_UNROLLED = 32;

/** The disjunction of document tests (`$or`). */
function anyDocTest(tests: readonly DocTest[]): DocTest {
  if (tests.length === 1) return tests[0];
  return (
    generateChain(tests, "||") ??
    ((doc, vars) => {
      for (let i = 0; i < tests.length; i++) if (tests[i](doc, vars)) return true;
      return false;
    })
  );
}

/**
 * `t0(doc, vars) && t1(doc, vars) && …` as a function of its own: each call site sees one target, so the
 * optimiser inlines the (usually generated, see `fast-path.ts`) tests into one straight-line predicate.
 */
function generateChain(tests: readonly DocTest[], operator: "&&" | "||"): DocTest | undefined {
  // Long lists gain nothing from unrolling (and would hit engines' parameter-count limits).
  if (tests.length > MAX_UNROLLED) return undefined;
  const bindings: Record<string, DocTest> = {};
  const calls = tests.map((test, i) => {
    bindings[`t${i}`] = test;
    return `t${i}(doc, vars)`;
  });
  return generateFunction<DocTest>(
    bindings,
    `return function chain(doc, vars) {\nreturn ${calls.join(` ${operator} `)};\n};`,
  );
}
