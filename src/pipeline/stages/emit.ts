import { isPlainObject } from "../../mql/bson-types.ts";
import type { Evaluator } from "../../mql/index.ts";
import { resolveConnection, type PlanContext } from "../context.ts";
import type { ConnectionEntry, SinkPlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { checkStringOrExpression, compileOption } from "./expressions.ts";

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
  const probe = Spec.open(value, path, "$emit", ctx.issues, Object.keys(value));
  if (!probe) return undefined;
  const connection = resolveConnection(
    ctx,
    probe,
    "connectionName",
    ["Kafka", "Cluster", "S3", "TestLog"],
    "$emit needs a Kafka, Cluster (time series) or S3 connection",
  );
  if (!connection) {
    // Still report unknown fields against the union of every form.
    Spec.open(value, path, "$emit", ctx.issues, [
      "connectionName",
      "topic",
      "config",
      "db",
      "coll",
      "timeseries",
      "bucket",
      "region",
      "path",
    ]);
    return undefined;
  }
  const errorsBefore = ctx.issues.size;
  const evaluators: Record<string, Evaluator> = {};
  const operatorName = emitForm(connection, value, path, ctx, evaluators);
  if (ctx.issues.size > errorsBefore || !operatorName) return undefined;
  return { kind: "emit", operatorName, path, connectionName: connection.name, options: value, evaluators };
}

type EmitOperator = Extract<SinkPlan, { kind: "emit" }>["operatorName"];

function emitForm(
  connection: ConnectionEntry,
  value: unknown,
  path: string,
  ctx: PlanContext,
  evaluators: Record<string, Evaluator>,
): EmitOperator | undefined {
  switch (connection.type) {
    case "Kafka": {
      const spec = Spec.open(value, path, "$emit", ctx.issues, ["connectionName", "topic", "config"]);
      if (!spec) return undefined;
      if (checkStringOrExpression(spec, "topic", true)) compileOption(ctx, spec, "topic", evaluators);
      readKafkaConfig(spec, ctx, evaluators);
      return "KafkaEmitOperator";
    }
    case "Cluster": {
      const spec = Spec.open(value, path, "$emit", ctx.issues, [
        "connectionName",
        "db",
        "coll",
        "timeseries",
      ]);
      if (!spec) return undefined;
      if (checkStringOrExpression(spec, "db", true)) compileOption(ctx, spec, "db", evaluators);
      if (checkStringOrExpression(spec, "coll", true)) compileOption(ctx, spec, "coll", evaluators);
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
      const spec = Spec.open(value, path, "$emit", ctx.issues, [
        "connectionName",
        "bucket",
        "region",
        "path",
        "config",
      ]);
      if (!spec) return undefined;
      spec.string("bucket", true);
      spec.string("region");
      if (checkStringOrExpression(spec, "path", true)) compileOption(ctx, spec, "path", evaluators);
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
    default: {
      Spec.open(value, path, "$emit", ctx.issues, ["connectionName"]);
      return "TestLogEmitOperator";
    }
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
}
