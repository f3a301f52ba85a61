import type { PlanContext } from "../context.ts";
import { compileAddFields } from "../document-stages.ts";
import type { StagePlan } from "../plan.ts";
import { transformStage } from "./transform.ts";

/** `$addFields` and its alias `$set` (ASP reports them as AddFieldsOperator / SetOperator). */
export function planAddFields(
  spec: unknown,
  path: string,
  ctx: PlanContext,
  stageName: string,
): StagePlan | undefined {
  return transformStage(
    stageName === "$set" ? "SetOperator" : "AddFieldsOperator",
    compileAddFields,
    spec,
    path,
    ctx,
  );
}
