/** Public API of Eddy's MongoDB Query Language compiler. */
export type { Doc, Vars, Evaluator, Predicate, CompileOptions } from "./types.ts";
export { MqlCompileError, MqlRuntimeError } from "./errors.ts";
export { bsonTypeOf, canonicalRank, isNumber, isPlainObject, type BsonTypeName } from "./bson-types.ts";
export { compareValues, valuesEqual } from "./compare.ts";
export { compileExpression, isLiteralExpression, type ExpressionOptions } from "./expression/compile.ts";
export type { AccumulatorSpec, CompiledAccumulator, CompiledGroup } from "./accumulators/types.ts";
export { compileQuery, type QueryOptions } from "./query/compile.ts";
export { compileGroup } from "./accumulators/group.ts";
export { groupKeyOf } from "./group-key.ts";
export {
  compileAddFields,
  compileProject,
  compileRedact,
  compileReplaceRoot,
  compileReplaceWith,
  compileSort,
  compileUnset,
  compileUnwind,
} from "./stages/index.ts";
