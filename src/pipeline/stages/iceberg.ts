import { resolveConnection, type PlanContext } from "../context.ts";
import type { SinkPlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { checkStringOrExpression } from "./expressions.ts";

/** `$iceberg` (newer ASP sink, P2): options validated, planned as a `connector` sink for a future connector. */
export function planIceberg(value: unknown, path: string, ctx: PlanContext): SinkPlan | undefined {
  const spec = Spec.open(value, path, "$iceberg", ctx.issues, [
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
  ]);
  if (!spec) return undefined;
  const errorsBefore = ctx.issues.size;
  const connection = resolveConnection(
    ctx,
    spec,
    "connectionName",
    ["S3"],
    "Only S3 connection type is supported for $iceberg",
  );
  spec.string("bucket", true);
  spec.string("path");
  spec.string("databaseName", true);
  checkStringOrExpression(spec, "tableName", true);
  spec.doc("catalog");
  if (ctx.issues.size > errorsBefore || !connection) return undefined;
  return {
    kind: "connector",
    stage: "$iceberg",
    operatorName: "IcebergOperator",
    path,
    connectionName: connection.name,
    options: spec.value,
  };
}
