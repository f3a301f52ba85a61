import { compileAt, type PlanContext } from "../context.ts";
import { compileQuery } from "../document-stages.ts";
import type { StagePlan } from "../plan.ts";

/** `$match`: a query filter (`$text` is rejected by the query compiler with ASP's message). */
export function planMatch(spec: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  const predicate = compileAt(ctx, path, () => compileQuery(spec, { path }));
  return predicate && { kind: "match", operatorName: "MatchOperator", path, predicate };
}
