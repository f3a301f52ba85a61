import type { PlanContext } from "../context.ts";
import type { SinkPlan } from "../plan.ts";
import { checkStringOrExpression } from "./expressions.ts";
import { openConnectedStage, type ConnectedStageRule } from "./open-stage.ts";

const ICEBERG: ConnectedStageRule = {
  stage: "$iceberg",
  fields: [
    "connectionName",
    "bucket",
    "region",
    "path",
    "databaseName",
    "tableName",
    "mode",
    "operationType",
    "catalog",
    "config",
  ],
  types: ["S3"],
  mismatch: "Only S3 connection type is supported for $iceberg",
};

/** `$iceberg` (newer ASP sink, P2): options validated, planned as a `connector` sink for a future connector. */
export function planIceberg(value: unknown, path: string, ctx: PlanContext): SinkPlan | undefined {
  const opened = openConnectedStage(value, path, ctx, ICEBERG);
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
    operatorName: "IcebergOperator",
    path,
    connectionName: connection.name,
    options: spec.value,
  };
}
