import type { MqlCompileError } from "../errors.ts";
import type { Doc, Evaluator, Vars } from "../types.ts";

/**
 * One `$group` accumulator's algebra. State is opaque and kept as small as the maths allows (a number for
 * `$sum`, `{sum, count}` for `$avg`…). `add` returns the new state (it may mutate and return the old one).
 */
export interface AccumulatorSpec<S = unknown> {
  /** Operator name, e.g. `$avg`. */
  readonly name: string;
  init(): S;
  add(state: S, value: unknown): S;
  /** Combines two partial states (present where the maths allows, e.g. not for `$first` over unordered parts). */
  readonly merge?: (a: S, b: S) => S;
  result(state: S): unknown;
  /** Approximate bytes held by a state, for `stateSize`. */
  stateSize(state: S): number;
}

/** An accumulator bound to its output field and the expression it reads from each document. */
export interface CompiledAccumulator {
  readonly field: string;
  /** Evaluates the accumulator's input for one document. */
  readonly argument: Evaluator;
  readonly spec: AccumulatorSpec;
}

/**
 * A compiled `$group` stage: the key expression and one accumulator per output field, plus the per-document
 * loops over all accumulators (generated per stage, so each accumulator's call is monomorphic). States are
 * arrays with one state per accumulator, in `accumulators` order.
 */
export interface CompiledGroup {
  readonly key: Evaluator;
  readonly accumulators: readonly CompiledAccumulator[];
  /** A fresh state per accumulator. */
  initStates(): unknown[];
  /** Evaluates every accumulator's argument on `doc` and adds it to `states` (in place). */
  accumulate(states: unknown[], doc: Doc, vars: Vars): void;
  /** Every accumulator's argument for `doc`, for adding one document to several groups (hopping windows). */
  evaluate(doc: Doc, vars: Vars): unknown[];
  /** Adds the values `evaluate` returned to `states` (in place). */
  addValues(states: unknown[], values: readonly unknown[]): void;
}

/** What an accumulator's compiler gets: its path (ending in the operator) and a way to compile arguments. */
export interface AccumulatorContext {
  /** Path of the accumulator, e.g. `pipeline[1].$group.total.$sum`. */
  readonly path: string;
  /** The accumulator name, e.g. `$sum`. */
  readonly operator: string;
  compile(expr: unknown, path: string): Evaluator;
  error(detail: string, path?: string): MqlCompileError;
}

/** A compiled accumulator before it is bound to an output field. */
export interface AccumulatorBinding {
  readonly argument: Evaluator;
  readonly spec: AccumulatorSpec;
}

/** Compiles the value under an accumulator's key (`{$topN: <args>}`) into its argument and algebra. */
export type AccumulatorCompiler = (args: unknown, ctx: AccumulatorContext) => AccumulatorBinding;

/** Forgets a spec's state type so specs with different states can share one list (states stay opaque). */
export function opaqueSpec<S>(spec: AccumulatorSpec<S>): AccumulatorSpec {
  return spec as unknown as AccumulatorSpec;
}
