/** A document as Eddy sees it: a plain object whose values are JS primitives, Dates, arrays or `bson` types. */
export type Doc = Record<string, unknown>;

/** Variables visible to an expression (`$$name`). `ROOT`, `CURRENT` and `NOW` are filled in by the evaluator. */
export type Vars = Record<string, unknown>;

/** A compiled aggregation expression: evaluates against the root document and the variables in scope. */
export type Evaluator = (root: Doc, vars: Vars) => unknown;

/** A compiled query filter. */
export type Predicate = (doc: Doc, vars?: Vars) => boolean;

/** Options shared by every compile function. */
export interface CompileOptions {
  /** JSON path of the spec being compiled, used in every error message (e.g. `pipeline[2].$match`). */
  readonly path?: string;
  /** Variables the caller defines (e.g. `$lookup.let`, `$merge`'s `new`), usable as `$$name`. */
  readonly variables?: readonly string[];
}
