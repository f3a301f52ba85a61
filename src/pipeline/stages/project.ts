import type { PlanContext } from "../context.ts";
import { compileProject } from "../document-stages.ts";
import type { StagePlan } from "../plan.ts";
import { transformStage } from "./transform.ts";

/** `$project`: server semantics, per document. */
export function planProject(spec: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  return transformStage("ProjectOperator", compileProject, spec, path, ctx);
}
