import type { PlanContext } from "../context.ts";
import { compileRedact } from "../document-stages.ts";
import type { StagePlan } from "../plan.ts";
import { transformStage } from "./transform.ts";

/** `$redact`: a document pruned at its top level is dropped (apply returns undefined). */
export function planRedact(spec: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  return transformStage("RedactOperator", compileRedact, spec, path, ctx);
}
