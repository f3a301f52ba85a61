import type { CompiledGroup } from "../../../src/mql/accumulators/types.ts";
import { groupKeyOf } from "../../../src/mql/group-key.ts";
import type { Doc } from "../../../src/mql/types.ts";

/** Runs a compiled `$group` over `docs` the simple way (one state per field per key), in first-seen key order. */
export function runGroup(group: CompiledGroup, docs: readonly Doc[]): Doc[] {
  const groups = new Map<string, { id: unknown; states: unknown[] }>();
  for (const doc of docs) {
    const id = group.key(doc, {});
    const key = groupKeyOf(id);
    let entry = groups.get(key);
    if (!entry) {
      entry = { id: id === undefined ? null : id, states: group.accumulators.map((a) => a.spec.init()) };
      groups.set(key, entry);
    }
    group.accumulators.forEach((acc, i) => {
      entry.states[i] = acc.spec.add(entry.states[i], acc.argument(doc, {}));
    });
  }
  return [...groups.values()].map(({ id, states }) => {
    const out: Doc = { _id: id };
    group.accumulators.forEach((acc, i) => {
      out[acc.field] = acc.spec.result(states[i]);
    });
    return out;
  });
}
