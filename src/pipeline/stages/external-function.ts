import type { Evaluator } from "../../mql/index.ts";
import type { PlanContext } from "../context.ts";
import type { ExternalFunctionOptions, SinkPlan, StagePlan } from "../plan.ts";
import { compileOption } from "./expressions.ts";
import { readParallelism } from "./lookup.ts";
import { openConnectedStage } from "./open-stage.ts";
import { planPayload } from "./payload.ts";

/**
 * `$externalFunction` (AWS Lambda, docs/asp-semantics.md §2.6). `execution: "sync"` (default) needs `as` unless last;
 * `async` must not set `as` and, as the last stage, is a sink.
 */
export function planExternalFunction(
  value: unknown,
  path: string,
  ctx: PlanContext,
  isLast: boolean,
): StagePlan | SinkPlan | undefined {
  const opened = openConnectedStage(value, path, ctx, "$externalFunction");
  if (!opened) return undefined;
  const { spec, connection } = opened;
  const functionName = spec.string("functionName", true);
  const execution = spec.enumOf("execution", ["sync", "async"] as const) ?? "sync";
  const as = spec.string("as");
  if (execution === "async" && as !== undefined)
    spec.error("as", "$externalFunction.as cannot be set when execution is async");
  if (execution === "sync" && as === undefined && !spec.has("as") && !isLast) {
    spec.error("as", "$externalFunction.as must be specified unless it is the last stage");
  }
  const onError = spec.enumOf("onError", ["dlq", "ignore", "fail"] as const) ?? "dlq";
  const parallelism = readParallelism(spec);
  if (execution === "async" && parallelism !== undefined && parallelism > 1) {
    spec.error("parallelism", "parallelism greater than 1 requires execution sync");
  }
  const evaluators: Record<string, Evaluator> = {};
  compileOption(ctx, spec, "partitionBy", evaluators);
  const payload = planPayload(spec, ctx, "$externalFunction");
  if (spec.hasIssuesSinceOpen() || !connection || payload === undefined || functionName === undefined)
    return undefined;
  const options: ExternalFunctionOptions = {
    functionName,
    execution,
    ...(as !== undefined ? { as } : {}),
    onError,
    ...(parallelism !== undefined ? { parallelism } : {}),
  };
  if (isLast && execution === "async") {
    return {
      kind: "connector",
      stage: "$externalFunction",
      type: connection.type,
      operatorName: "ExternalFunctionOperator",
      path,
      connectionName: connection.name,
      options,
    };
  }
  return {
    kind: "externalFunction",
    type: connection.type,
    operatorName: "ExternalFunctionOperator",
    path,
    connectionName: connection.name,
    options,
    evaluators,
    ...(payload ? { payload } : {}),
  };
}
