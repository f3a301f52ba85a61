import { compileAt, type PlanContext } from "../context.ts";
import { compileUnwind } from "../document-stages.ts";
import type { StagePlan } from "../plan.ts";

/** `$unwind`: a field path string or `{path, includeArrayIndex, preserveNullAndEmptyArrays}`. */
export function planUnwind(spec: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  const apply = compileAt(ctx, path, () => compileUnwind(spec, { path }));
  return apply && { kind: "unwind", operatorName: "UnwindOperator", path, apply };
}
