/** Public API of Eddy's MongoDB Query Language compiler. */
export type { Doc, Vars, Evaluator, Predicate, CompileOptions } from "./types.ts";
export { MqlCompileError, MqlRuntimeError } from "./errors.ts";
export { bsonTypeOf, canonicalRank, isNumber, isPlainObject, type BsonTypeName } from "./bson-types.ts";
export { compareValues, valuesEqual } from "./compare.ts";
export { compileExpression, isLiteralExpression, type ExpressionOptions } from "./expression/compile.ts";
export type { AccumulatorSpec, CompiledAccumulator, CompiledGroup } from "./accumulators/types.ts";
