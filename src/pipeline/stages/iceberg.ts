import type { PlanContext } from "../context.ts";
import type { IcebergOptions, SinkPlan } from "../plan.ts";
import { checkStringOrExpression } from "./expressions.ts";
import { openConnectedStage } from "./open-stage.ts";

/** `$iceberg` (newer ASP sink, P2): options validated, planned as a `connector` sink for a future connector. */
export function planIceberg(value: unknown, path: string, ctx: PlanContext): SinkPlan | undefined {
  const opened = openConnectedStage(value, path, ctx, "$iceberg");
  if (!opened) return undefined;
  const { spec, connection } = opened;
  const bucket = spec.string("bucket", true);
  const icebergPath = spec.string("path");
  const databaseName = spec.string("databaseName", true);
  checkStringOrExpression(spec, "tableName", true);
  const catalog = spec.doc("catalog");
  if (spec.hasIssuesSinceOpen() || !connection || bucket === undefined || databaseName === undefined)
    return undefined;
  const options: IcebergOptions = {
    bucket,
    ...(icebergPath !== undefined ? { path: icebergPath } : {}),
    databaseName,
    tableName: spec.value.tableName,
    ...(catalog ? { catalog } : {}),
  };
  return {
    kind: "connector",
    stage: "$iceberg",
    type: connection.type,
    operatorName: "IcebergOperator",
    path,
    connectionName: connection.name,
    options,
  };
}
