import { isPlainObject } from "../../mql/bson-types.ts";
import type { Doc, Evaluator } from "../../mql/index.ts";
import type { PlanContext } from "../context.ts";
import type { ConnectionEntry, ConnectionType, SinkPlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { compileOption, compileStringOrExpression } from "./expressions.ts";
import { resolveFormConnection } from "./open-stage.ts";
import { planPostgresEmit, POSTGRES_EMIT_FIELDS } from "../../connectors/postgresql/spec.ts";

const KEY_FORMATS = ["binData", "string", "json", "int", "long"] as const;
const OUTPUT_FORMATS = ["relaxedJson", "canonicalJson"] as const;
const ACKS = ["all", "-1", "0", "1"];
const COMPRESSION = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
const GRANULARITY = ["seconds", "minutes", "hours"] as const;

/**
 * `$emit`: the connection's type picks the form — Kafka (`topic`, `config`, §3.2), Cluster time series
 * (`db`, `coll`, `timeseries`, §3.3), S3 (P2) or the built-in `__testLog`. Each form is parsed strictly.
 */
export function planEmit(value: unknown, path: string, ctx: PlanContext): SinkPlan | undefined {
  if (!isPlainObject(value)) {
    Spec.open(value, path, "$emit", ctx.issues, []);
    return undefined;
  }
  const connection = resolveFormConnection(
    value,
    path,
    ctx,
    "$emit",
    ["Kafka", "Cluster", "S3", "TestLog", "PostgreSQL"],
    "$emit needs a Kafka, Cluster (time series), S3 or PostgreSQL connection",
    ALL_FORM_FIELDS,
  );
  if (!connection) return undefined;
  const errorsBefore = ctx.issues.size;
  const evaluators: Record<string, Evaluator> = {};
  const operatorName = emitForm(connection, value, path, ctx, evaluators);
  if (ctx.issues.size > errorsBefore || !operatorName) return undefined;
  return { kind: "emit", operatorName, path, connectionName: connection.name, options: value, evaluators };
}

type EmitOperator = Extract<SinkPlan, { kind: "emit" }>["operatorName"];

/** The fields of each `$emit` form, by connection type; the built-in `__testLog` takes only `connectionName`. */
const FORM_FIELDS: Partial<Record<ConnectionType, readonly string[]>> = {
  Kafka: ["connectionName", "topic", "config"],
  Cluster: ["connectionName", "db", "coll", "timeseries"],
  S3: ["connectionName", "bucket", "region", "path", "config"],
  PostgreSQL: POSTGRES_EMIT_FIELDS,
};
const TEST_LOG_FIELDS = ["connectionName"];
/** Reported against when the connection does not resolve, so no form's field is called unknown. */
const ALL_FORM_FIELDS = [...new Set(Object.values(FORM_FIELDS).flat())];

function emitForm(
  connection: ConnectionEntry,
  value: Doc,
  path: string,
  ctx: PlanContext,
  evaluators: Record<string, Evaluator>,
): EmitOperator | undefined {
  const spec = Spec.open(value, path, "$emit", ctx.issues, FORM_FIELDS[connection.type] ?? TEST_LOG_FIELDS);
  if (!spec) return undefined;
  switch (connection.type) {
    case "Kafka":
      compileStringOrExpression(ctx, spec, "topic", evaluators, true);
      readKafkaConfig(spec, ctx, evaluators);
      return "KafkaEmitOperator";
    case "Cluster": {
      compileStringOrExpression(ctx, spec, "db", evaluators, true);
      compileStringOrExpression(ctx, spec, "coll", evaluators, true);
      const ts = spec.object(
        "timeseries",
        ["timeField", "metaField", "granularity", "bucketMaxSpanSeconds", "bucketRoundingSeconds"],
        true,
      );
      ts?.string("timeField", true);
      ts?.string("metaField");
      ts?.enumOf("granularity", GRANULARITY);
      ts?.int("bucketMaxSpanSeconds");
      ts?.int("bucketRoundingSeconds");
      return "TimeseriesEmitOperator";
    }
    case "S3": {
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
      return "S3EmitOperator";
    }
    case "PostgreSQL":
      planPostgresEmit(spec, ctx, evaluators);
      return "PostgresEmitOperator";
    default:
      return "TestLogEmitOperator";
  }
}

function readKafkaConfig(spec: Spec, ctx: PlanContext, evaluators: Record<string, Evaluator>): void {
  const config = spec.object("config", [
    "key",
    "keyFormat",
    "headers",
    "outputFormat",
    "dateFormat",
    "acks",
    "compression_type",
    "tombstoneWhen",
    // Eddy extensions: Kafka transactions, one per checkpoint (docs/checkpoints.md).
    "exactlyOnce",
    "transactionalId",
  ]);
  if (!config) return;
  if (config.has("key") && !config.has("keyFormat")) {
    config.error("key", "Expected config.keyFormat to be specified when config.key is specified");
  }
  compileOption(ctx, config, "key", evaluators, "config.key");
  config.enumOf("keyFormat", KEY_FORMATS);
  const headers = config.raw("headers");
  if (headers !== undefined && typeof headers !== "string" && !isPlainObject(headers))
    config.wrongType("headers", "[object, string]");
  else compileOption(ctx, config, "headers", evaluators, "config.headers");
  config.enumOf("outputFormat", OUTPUT_FORMATS);
  config.enumOf("dateFormat", ["default", "ISO8601"] as const);
  const acks = config.raw("acks");
  if (acks !== undefined && !ACKS.includes(String(acks))) {
    config.error(
      "acks",
      `Enumeration value '${String(acks)}' for field '${config.fieldCtx("acks")}' is not a valid value.`,
    );
  }
  config.enumOf("compression_type", COMPRESSION);
  compileOption(ctx, config, "tombstoneWhen", evaluators, "config.tombstoneWhen");
  const exactlyOnce = config.bool("exactlyOnce");
  const transactionalId = config.string("transactionalId");
  if (transactionalId !== undefined && exactlyOnce !== true)
    config.error("transactionalId", "config.transactionalId needs config.exactlyOnce: true");
  if (transactionalId === "") config.error("transactionalId", "config.transactionalId must not be empty");
  if (exactlyOnce === true && acks !== undefined && String(acks) !== "all" && String(acks) !== "-1") {
    config.error(
      "acks",
      `config.exactlyOnce needs acks 'all' (Kafka transactions require it), got '${String(acks)}'; remove acks or set it to 'all'`,
    );
  }
}
