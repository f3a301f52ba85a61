import type { Doc, Vars } from "../../mql/index.ts";
import { compileAt, type PlanContext } from "../context.ts";
import type { StagePlan } from "../plan.ts";

type TransformCompiler = (
  spec: unknown,
  options: { path: string },
) => (doc: Doc, vars?: Vars) => Doc | undefined;

/** Builds a `transform` plan from one of the MQL document-stage compilers (shared by the stage files). */
export function transformStage(
  operatorName: string,
  compile: TransformCompiler,
  spec: unknown,
  path: string,
  ctx: PlanContext,
): StagePlan | undefined {
  const apply = compileAt(ctx, path, () => compile(spec, { path }));
  return apply && { kind: "transform", operatorName, path, apply };
}
