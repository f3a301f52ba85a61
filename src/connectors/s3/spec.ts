/** S3: ASP's `$emit` to Amazon S3 and `$iceberg` tables. Eddy validates these; no connector runs them yet. */
import type { Spec } from "../../pipeline/spec.ts";
import type { Evaluator } from "../../mql/index.ts";
import type { PlanContext } from "../../pipeline/context.ts";
import { compileStringOrExpression } from "../../pipeline/stages/expressions.ts";
import { defineConnector } from "../spec.ts";

export const s3 = defineConnector<never, Record<string, unknown>>({
  type: "S3",
  aliases: ["s3"],
  description: "Amazon S3 (`$emit`, `$iceberg`): validated, not run by this build.",
  connection: { properties: { aws: { type: "object", description: "`{roleArn}`: accepted, not used." } } },
  emit: {
    operatorName: "S3EmitOperator",
    fields: {
      properties: {
        bucket: { type: "string" },
        region: { type: "string" },
        path: { anyOf: [{ type: "string" }, { type: "object" }] },
        config: {
          type: "object",
          additionalProperties: false,
          properties: {
            outputFormat: { enum: ["basicJson", "relaxedJson", "canonicalJson"] },
            dateFormat: { enum: ["default", "ISO8601"] },
            writeOptions: { type: "object" },
            delimiter: { type: "string" },
            compression: { enum: ["gzip", "snappy"] },
            compressionLevel: { type: "integer" },
          },
        },
      },
      required: ["bucket", "path"],
    },
    plan: planS3Emit,
  },
  stages: {
    $iceberg: {
      mismatch: "Only S3 connection type is supported for $iceberg",
      fields: {
        properties: {
          connectionName: { type: "string" },
          bucket: { type: "string" },
          region: { type: "string" },
          path: { type: "string" },
          databaseName: { type: "string" },
          tableName: { anyOf: [{ type: "string" }, { type: "object" }] },
          mode: {},
          operationType: {},
          catalog: { type: "object" },
          config: {},
        },
        required: ["connectionName", "bucket", "databaseName", "tableName"],
      },
    },
  },
});

function planS3Emit(
  spec: Spec,
  ctx: PlanContext,
  evaluators: Record<string, Evaluator>,
): Record<string, unknown> | undefined {
  spec.string("bucket", true);
  spec.string("region");
  compileStringOrExpression(ctx, spec, "path", evaluators, true);
  const config = spec.object("config", [
    "outputFormat",
    "dateFormat",
    "writeOptions",
    "delimiter",
    "compression",
    "compressionLevel",
  ]);
  config?.enumOf("outputFormat", ["basicJson", "relaxedJson", "canonicalJson"] as const);
  config?.enumOf("dateFormat", ["default", "ISO8601"] as const);
  config?.enumOf("compression", ["gzip", "snappy"] as const);
  config?.string("delimiter");
  config?.int("compressionLevel");
  const writeOptions = config?.object("writeOptions", ["count", "bytes", "interval"]);
  writeOptions?.int("count");
  writeOptions?.int("bytes");
  return spec.value;
}
