import type { Evaluator } from "../types.ts";
import { constantN, expectArgs } from "./n-family.ts";
import { insertBounded, mergeBounded } from "./ranked.ts";
import { compileSortSpec, type SortSpec } from "./sort-spec.ts";
import { approximateSize } from "./state-size.ts";
import { type AccumulatorCompiler, type AccumulatorSpec, opaqueSpec } from "./types.ts";

/** One candidate: its sort key (from `sortBy`) and its `output` value (missing as null). */
export interface Ranked {
  readonly key: unknown[];
  readonly out: unknown;
}

/**
 * `$topN` (`keep: "first"`) / `$bottomN` (`keep: "last"`): the n documents at the start or end of the
 * `sortBy` order, returned in that order. `single` gives `$top` / `$bottom` (one output, not an array).
 */
export function rankedSpec(
  name: string,
  sort: SortSpec,
  n: number,
  keep: "first" | "last",
  single: boolean,
): AccumulatorSpec<Ranked[]> {
  const compare = (a: Ranked, b: Ranked): number => sort.compare(a.key, b.key);
  return {
    name,
    init: () => [],
    add(state, value) {
      insertBounded(state, value as Ranked, compare, n, keep);
      return state;
    },
    merge: (a, b) => mergeBounded(a, b, compare, n, keep),
    result: single
      ? (state) => (state.length === 0 ? null : state[0].out)
      : (state) => state.map((entry) => entry.out),
    stateSize: (state) => {
      let size = 16 + state.length * 8;
      for (const entry of state) size += 24 + approximateSize(entry.key) + approximateSize(entry.out);
      return size;
    },
  };
}

function compileRanked(keep: "first" | "last", single: boolean): AccumulatorCompiler {
  return (args, ctx) => {
    const obj = expectArgs(args, ctx, single ? ["sortBy", "output"] : ["n", "sortBy", "output"]);
    const n = single ? 1 : constantN(obj, ctx);
    const sort = compileSortSpec(obj.sortBy);
    if (typeof sort === "string") throw ctx.error(sort, `${ctx.path}.sortBy`);
    const output: Evaluator = ctx.compile(obj.output, `${ctx.path}.output`);
    const argument: Evaluator = (root, vars) => {
      const out = output(root, vars);
      const entry: Ranked = { key: sort.keyOf(root), out: out === undefined ? null : out };
      return entry;
    };
    return { argument, spec: opaqueSpec(rankedSpec(ctx.operator, sort, n, keep, single)) };
  };
}

export const compileTop = compileRanked("first", true);
export const compileBottom = compileRanked("last", true);
export const compileTopN = compileRanked("first", false);
export const compileBottomN = compileRanked("last", false);
