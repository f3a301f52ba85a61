import { isPlainObject } from "../../mql/bson-types.ts";
import { compileExpression, type Doc, type Evaluator } from "../../mql/index.ts";
import { compileAt, type PlanContext } from "../context.ts";
import type { SourcePlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { CHANGE_STREAM_FIELDS, planChangeStreamSource } from "./source-change-stream.ts";
import { resolveFormConnection } from "./open-stage.ts";
import { KAFKA_FIELDS, planKafkaSource } from "./source-kafka.ts";
import { OTLP_FIELDS, planOtlpSource } from "./source-otlp.ts";

/** Fields every `$source` variant accepts. */
export const COMMON_SOURCE_FIELDS = [
  "connectionName",
  "timeField",
  "tsFieldName",
  "tsFieldOverride",
] as const;

export interface SourceCommonPlan {
  readonly timeField: Evaluator | undefined;
  readonly tsFieldName: string;
}

/**
 * `$source`: inline `documents`, or a connection whose type picks the variant (Cluster ⇒ change stream,
 * Kafka, Sample, File). Each variant parses its own fields strictly.
 */
export function planSource(value: unknown, path: string, ctx: PlanContext): SourcePlan | undefined {
  if (!isPlainObject(value)) {
    Spec.open(value, path, "$source", ctx.issues, []);
    return undefined;
  }
  if (value.documents !== undefined) return planDocumentsSource(value, path, ctx);
  if (value.connectionName === undefined) {
    ctx.issues.add(path, "$source must contain 'connectionName' field in it");
    return undefined;
  }
  const connection = resolveFormConnection(
    value,
    path,
    ctx,
    "$source",
    ["Cluster", "Kafka", "Sample", "File", "OTLP"],
    "$source needs a Cluster (change stream), Kafka, Sample, File or OTLP connection",
    [...COMMON_SOURCE_FIELDS, ...CHANGE_STREAM_FIELDS, ...KAFKA_FIELDS, ...OTLP_FIELDS],
  );
  if (!connection) return undefined;
  switch (connection.type) {
    case "Cluster":
      return planChangeStreamSource(value, path, ctx, connection.name);
    case "Kafka":
      return planKafkaSource(value, path, ctx, connection.name);
    case "OTLP":
      return planOtlpSource(value, path, ctx, connection.name);
    case "Sample": {
      const spec = Spec.open(value, path, "$source", ctx.issues, COMMON_SOURCE_FIELDS);
      const common = spec && planSourceCommon(spec, ctx);
      const dataset =
        typeof connection.config?.dataset === "string" ? connection.config.dataset : connection.name;
      return common && { kind: "sample", connectionName: connection.name, dataset, ...common };
    }
    default: {
      const spec = Spec.open(value, path, "$source", ctx.issues, COMMON_SOURCE_FIELDS);
      const common = spec && planSourceCommon(spec, ctx);
      return common && { kind: "file", connectionName: connection.name, ...common };
    }
  }
}

/** `timeField` and `tsFieldName` (legacy alias `tsFieldOverride`). */
export function planSourceCommon(spec: Spec, ctx: PlanContext): SourceCommonPlan | undefined {
  const errorsBefore = ctx.issues.size;
  let timeField: Evaluator | undefined;
  if (spec.has("timeField")) {
    const raw = spec.raw("timeField");
    if (typeof raw !== "string" && !isPlainObject(raw)) spec.wrongType("timeField", "[string, object]");
    else
      timeField = compileAt(ctx, spec.fieldPath("timeField"), () =>
        compileExpression(raw, { path: spec.fieldPath("timeField") }),
      );
  }
  const field = spec.has("tsFieldName") ? "tsFieldName" : "tsFieldOverride";
  const tsFieldName = spec.string(field) ?? "_ts";
  if (tsFieldName === "") spec.error(field, `'${field}' cannot be empty`);
  else if (tsFieldName.includes(".")) spec.error(field, `'${field}' cannot be a dotted path`);
  if (ctx.issues.size > errorsBefore) return undefined;
  return { timeField, tsFieldName };
}

function planDocumentsSource(value: Doc, path: string, ctx: PlanContext): SourcePlan | undefined {
  const spec = Spec.open(value, path, "$source", ctx.issues, [
    "documents",
    "timeField",
    "tsFieldName",
    "tsFieldOverride",
  ]);
  if (!spec) return undefined;
  const raw = spec.raw("documents");
  let documents: readonly Doc[] | Evaluator | undefined;
  if (Array.isArray(raw)) {
    const bad = raw.findIndex((doc) => !isPlainObject(doc));
    if (bad >= 0)
      ctx.issues.add(
        `${spec.fieldPath("documents")}[${bad}]`,
        "The documents list expression does not evaluate to an array of objects.",
      );
    else documents = raw as Doc[];
  } else if (isPlainObject(raw) || (typeof raw === "string" && raw.startsWith("$"))) {
    documents = compileAt(ctx, spec.fieldPath("documents"), () =>
      compileExpression(raw, { path: spec.fieldPath("documents") }),
    );
  } else {
    spec.error("documents", "The documents list expression does not evaluate to an array.");
  }
  const common = planSourceCommon(spec, ctx);
  return documents && common && { kind: "documents", documents, ...common };
}
