import type { Evaluator } from "../../mql/index.ts";
import type { PlanContext } from "../context.ts";
import type { HttpsRequestOptions, SinkPlan, StagePlan } from "../plan.ts";
import type { Spec } from "../spec.ts";
import { compileOptionMap, compileStringOrExpression } from "./expressions.ts";
import { openConnectedStage } from "./open-stage.ts";
import { planPayload } from "./payload.ts";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
const MAX_TIMEOUT_SEC = 899;

/**
 * `$https` (docs/asp-semantics.md §2.5). Mid-pipeline it needs `as`; as the last stage without `as` it is a sink (newer
 * ASP) and is planned as a `connector` sink.
 */
export function planHttps(
  value: unknown,
  path: string,
  ctx: PlanContext,
  isLast: boolean,
): StagePlan | SinkPlan | undefined {
  const opened = openConnectedStage(value, path, ctx, "$https");
  if (!opened) return undefined;
  const { spec, connection } = opened;
  const evaluators: Record<string, Evaluator> = {};
  compileStringOrExpression(ctx, spec, "path", evaluators);
  const method = spec.enumOf("method", METHODS);
  compileOptionMap(ctx, spec, "parameters", evaluators);
  checkHeaders(spec);
  compileOptionMap(ctx, spec, "headers", evaluators);
  const as = spec.string("as");
  if (as === undefined && !spec.has("as") && !isLast)
    spec.error("as", "$https.as must be specified unless $https is the last stage");
  const onError = spec.enumOf("onError", ["dlq", "ignore", "fail"] as const) ?? "dlq";
  const payload = planPayload(spec, ctx, "$https");
  const timeouts = { connectionTimeoutSec: 30, requestTimeoutSec: 60 };
  let parseJsonStrings = false;
  const config = spec.object("config", ["connectionTimeoutSec", "requestTimeoutSec", "parseJsonStrings"]);
  if (config) {
    for (const field of ["connectionTimeoutSec", "requestTimeoutSec"] as const) {
      const seconds = config.int(field);
      if (seconds !== undefined && (seconds < 1 || seconds > MAX_TIMEOUT_SEC)) {
        config.error(field, `${field} must be between 1 and ${MAX_TIMEOUT_SEC} seconds, got ${seconds}`);
      } else if (seconds !== undefined) timeouts[field] = seconds;
    }
    parseJsonStrings = config.bool("parseJsonStrings") ?? false;
  }
  if (spec.hasIssuesSinceOpen() || !connection || payload === undefined) return undefined;
  const terminal = isLast && as === undefined;
  const options: HttpsRequestOptions = {
    method: method ?? (terminal ? "POST" : "GET"),
    ...(as !== undefined ? { as } : {}),
    onError,
    ...timeouts,
    parseJsonStrings,
  };
  if (terminal) {
    return {
      kind: "connector",
      stage: "$https",
      type: connection.type,
      operatorName: "HttpsOperator",
      path,
      connectionName: connection.name,
      options,
      evaluators,
      ...(payload ? { payload } : {}),
    };
  }
  return {
    kind: "https",
    type: connection.type,
    operatorName: "HttpsOperator",
    path,
    connectionName: connection.name,
    options,
    evaluators,
    ...(payload ? { payload } : {}),
  };
}

function checkHeaders(spec: Spec): void {
  const headers = spec.doc("headers");
  if (!headers) return;
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== "string") {
      spec.issues.add(
        `${spec.fieldPath("headers")}.${name}`,
        "Headers defined in the pipeline operator can only define string values or field path expressions.",
      );
    }
  }
}
