import { generateFunction } from "../codegen.ts";
import type { Doc, Vars } from "../types.ts";
import type { CompiledAccumulator, CompiledGroup } from "./types.ts";

const MAX_UNROLLED = 64;

type GroupLoops = Pick<CompiledGroup, "initStates" | "accumulate" | "evaluate" | "addValues">;

/**
 * The per-document loops of a `$group` over its accumulators, unrolled into straight-line code with one
 * call site per accumulator (see `codegen.ts`): `states[0] = add0(states[0], argument0(doc, vars)); …`.
 * A shared loop would call every accumulator's `add` and argument from one megamorphic site.
 */
export function groupLoops(accumulators: readonly CompiledAccumulator[]): GroupLoops {
  // Beyond a few dozen fields unrolling gains nothing (and would hit engines' parameter-count limits).
  if (accumulators.length > MAX_UNROLLED) return closureLoops(accumulators);
  const bindings: Record<string, unknown> = {};
  const inits: string[] = [];
  const accumulates: string[] = [];
  const arguments_: string[] = [];
  const adds: string[] = [];
  accumulators.forEach((accumulator, i) => {
    bindings[`init${i}`] = accumulator.spec.init;
    bindings[`add${i}`] = accumulator.spec.add;
    bindings[`argument${i}`] = accumulator.argument;
    inits.push(`init${i}()`);
    accumulates.push(`states[${i}] = add${i}(states[${i}], argument${i}(doc, vars));`);
    arguments_.push(`argument${i}(doc, vars)`);
    adds.push(`states[${i}] = add${i}(states[${i}], values[${i}]);`);
  });
  return (
    generateFunction<GroupLoops>(
      bindings,
      `return {
  initStates() { return [${inits.join(", ")}]; },
  accumulate(states, doc, vars) { ${accumulates.join("\n    ")} },
  evaluate(doc, vars) { return [${arguments_.join(", ")}]; },
  addValues(states, values) { ${adds.join("\n    ")} },
};`,
    ) ?? closureLoops(accumulators)
  );
}

function closureLoops(accumulators: readonly CompiledAccumulator[]): GroupLoops {
  const count = accumulators.length;
  return {
    initStates: () => accumulators.map((accumulator) => accumulator.spec.init()),
    accumulate(states: unknown[], doc: Doc, vars: Vars) {
      for (let i = 0; i < count; i++) {
        const accumulator = accumulators[i];
        states[i] = accumulator.spec.add(states[i], accumulator.argument(doc, vars));
      }
    },
    evaluate: (doc: Doc, vars: Vars) => accumulators.map((accumulator) => accumulator.argument(doc, vars)),
    addValues(states: unknown[], values: readonly unknown[]) {
      for (let i = 0; i < count; i++) states[i] = accumulators[i].spec.add(states[i], values[i]);
    },
  };
}
