import { isPlainObject } from "../../mql/bson-types.ts";
import type { Evaluator } from "../../mql/index.ts";
import type { ConnectionTypeSpec, EmitForm } from "../connector-specs.ts";
import type { PlanContext } from "../context.ts";
import type { SinkPlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import { mentionList } from "./form-labels.ts";
import { resolveFormConnection } from "./open-stage.ts";

type EmitSpec = ConnectionTypeSpec & { emit: EmitForm<unknown> };

/**
 * `$emit`: the connection's type picks the form (its spec in `PlanContext.connectors`: Kafka `topic`/`config`,
 * Cluster time series, S3, the built-in `__testLog`…). Each form is parsed strictly.
 */
export function planEmit(value: unknown, path: string, ctx: PlanContext): SinkPlan | undefined {
  if (!isPlainObject(value)) {
    Spec.open(value, path, "$emit", ctx.issues, []);
    return undefined;
  }
  const forms = ctx.connectors.specs.filter((spec): spec is EmitSpec => spec.emit !== undefined);
  const connection = resolveFormConnection(
    value,
    path,
    ctx,
    "$emit",
    forms.map((spec) => spec.type),
    `$emit needs a ${mentionList(mentioned(forms))} connection`,
    [...new Set(forms.flatMap((spec) => ["connectionName", ...Object.keys(spec.emit.fields.properties)]))],
  );
  const form = connection && forms.find((spec) => spec.type === connection.type)?.emit;
  if (!connection || !form) return undefined;
  const errorsBefore = ctx.issues.size;
  const spec = Spec.open(value, path, "$emit", ctx.issues, [
    "connectionName",
    ...Object.keys(form.fields.properties),
  ]);
  if (!spec) return undefined;
  const evaluators: Record<string, Evaluator> = {};
  const options = form.plan(spec, ctx, evaluators);
  if (ctx.issues.size > errorsBefore || options === undefined) return undefined;
  return {
    kind: "emit",
    type: connection.type,
    operatorName: form.operatorName,
    path,
    connectionName: connection.name,
    options,
    evaluators,
  };
}

/** The labels of the listed forms, in the order ASP's message names them. */
function mentioned(forms: readonly EmitSpec[]): string[] {
  return forms
    .map((spec, index) => ({ spec, order: spec.emit.mentionOrder ?? index }))
    .filter(({ spec }) => !spec.emit.unlisted)
    .sort((a, b) => a.order - b.order)
    .map(({ spec }) => spec.emit.label ?? spec.type);
}
