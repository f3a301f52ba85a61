import { compileAt, type PlanContext } from "../context.ts";
import { compileGroup } from "../document-stages.ts";
import type { WindowStagePlan } from "../plan.ts";

/** `$group` inside a window: all server accumulators. */
export function planGroup(spec: unknown, path: string, ctx: PlanContext): WindowStagePlan | undefined {
  const group = compileAt(ctx, path, () => compileGroup(spec, { path }));
  return group && { kind: "group", operatorName: "GroupOperator", path, group };
}
