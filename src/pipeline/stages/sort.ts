import { compileAt, type PlanContext } from "../context.ts";
import { compileSort } from "../document-stages.ts";
import type { WindowStagePlan } from "../plan.ts";

/** `$sort` inside a window: orders the window's documents at close. */
export function planSort(spec: unknown, path: string, ctx: PlanContext): WindowStagePlan | undefined {
  const compare = compileAt(ctx, path, () => compileSort(spec, { path }));
  return compare && { kind: "sort", operatorName: "SortOperator", path, compare };
}
