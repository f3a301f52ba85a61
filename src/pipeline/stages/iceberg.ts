import type { PlanContext } from "../context.ts";
import type { SinkPlan } from "../plan.ts";
import { checkStringOrExpression } from "./expressions.ts";
import { openConnectedStage } from "./open-stage.ts";

/** `$iceberg` (newer ASP sink, P2): options validated, planned as a `connector` sink for a future connector. */
export function planIceberg(value: unknown, path: string, ctx: PlanContext): SinkPlan | undefined {
  const opened = openConnectedStage(value, path, ctx, "$iceberg");
  if (!opened) return undefined;
  const { spec, connection } = opened;
  spec.string("bucket", true);
  spec.string("path");
  spec.string("databaseName", true);
  checkStringOrExpression(spec, "tableName", true);
  spec.doc("catalog");
  if (spec.hasIssuesSinceOpen() || !connection) return undefined;
  return {
    kind: "connector",
    stage: "$iceberg",
    type: connection.type,
    operatorName: "IcebergOperator",
    path,
    connectionName: connection.name,
    options: spec.value,
  };
}
