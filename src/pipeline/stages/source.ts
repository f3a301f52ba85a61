import { isPlainObject } from "../../mql/bson-types.ts";
import { compileExpression, type Doc, type Evaluator } from "../../mql/index.ts";
import type { ConnectionTypeSpec, SourceForm } from "../connector-specs.ts";
import { compileAt, type PlanContext } from "../context.ts";
import type { DocumentsSourceOptions, SourcePlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { mentionList } from "./form-labels.ts";
import { resolveFormConnection } from "./open-stage.ts";

/** Fields every `$source` variant accepts. */
export const COMMON_SOURCE_FIELDS = [
  "connectionName",
  "timeField",
  "tsFieldName",
  "tsFieldOverride",
] as const;

/**
 * `$source`: inline `documents`, or a connection whose type picks the form (the type's spec in
 * `PlanContext.connectors`: Cluster ⇒ change stream, Kafka, Sample, File…). Each form is parsed strictly.
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
  const forms = ctx.connectors.specs.filter(
    (spec): spec is ConnectionTypeSpec & { source: SourceForm<unknown> } => spec.source !== undefined,
  );
  const connection = resolveFormConnection(
    value,
    path,
    ctx,
    "$source",
    forms.map((spec) => spec.type),
    `$source needs a ${mentionList(forms.map((spec) => spec.source.label ?? spec.type))} connection`,
    [...COMMON_SOURCE_FIELDS, ...forms.flatMap((spec) => Object.keys(spec.source.fields.properties))],
  );
  const form = connection && forms.find((spec) => spec.type === connection.type)?.source;
  if (!connection || !form) return undefined;
  const spec = Spec.open(value, path, "$source", ctx.issues, [
    ...COMMON_SOURCE_FIELDS,
    ...Object.keys(form.fields.properties),
  ]);
  if (!spec) return undefined;
  const planned = form.plan(spec, ctx, connection);
  const common = planSourceCommon(spec, ctx);
  if (spec.hasIssuesSinceOpen() || !planned || !common) return undefined;
  return {
    type: connection.type,
    connectionName: connection.name,
    options: planned.options,
    partitionIdleTimeoutMs: planned.partitionIdleTimeoutMs,
    ...common,
  };
}

interface SourceCommonPlan {
  readonly timeField: Evaluator | undefined;
  readonly tsFieldName: string;
}

/** `timeField` and `tsFieldName` (legacy alias `tsFieldOverride`). */
function planSourceCommon(spec: Spec, ctx: PlanContext): SourceCommonPlan | undefined {
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
  if (!documents || !common) return undefined;
  const options: DocumentsSourceOptions = { documents };
  return {
    type: "documents",
    connectionName: undefined,
    options,
    partitionIdleTimeoutMs: undefined,
    ...common,
  };
}
