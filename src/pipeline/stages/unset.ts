import type { PlanContext } from "../context.ts";
import { compileUnset } from "../document-stages.ts";
import type { StagePlan } from "../plan.ts";
import { transformStage } from "./transform.ts";

/** `$unset`: a field name or an array of them. */
export function planUnset(spec: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  return transformStage("UnsetOperator", compileUnset, spec, path, ctx);
}
