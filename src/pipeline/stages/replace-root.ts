import type { PlanContext } from "../context.ts";
import { compileReplaceRoot, compileReplaceWith } from "../document-stages.ts";
import type { StagePlan } from "../plan.ts";
import { transformStage } from "./transform.ts";

/** `$replaceRoot: {newRoot}` and `$replaceWith: <expr>` . */
export function planReplaceRoot(
  spec: unknown,
  path: string,
  ctx: PlanContext,
  stageName: string,
): StagePlan | undefined {
  const compile = stageName === "$replaceWith" ? compileReplaceWith : compileReplaceRoot;
  return transformStage("ReplaceRootOperator", compile, spec, path, ctx);
}
