import type { Doc } from "../../mql/index.ts";
import type { ConnectorStageName, StageForm } from "../connector-specs.ts";
import { resolveConnection, type PlanContext } from "../context.ts";
import type { ConnectionEntry, ConnectionType } from "../plan.ts";
import { Spec } from "../spec.ts";

/** The options of a stage that talks to one connection, and that connection when it resolved. */
export interface ConnectedStageSpec {
  readonly spec: Spec;
  readonly connection: ConnectionEntry | undefined;
}

/** The connection types whose spec serves `stage`, with their forms, in registry order. */
function servingForms(ctx: PlanContext, stage: ConnectorStageName): Array<[ConnectionType, StageForm]> {
  return ctx.connectors.specs.flatMap((spec) => {
    const form = spec.stages?.[stage];
    return form ? [[spec.type, form] as [ConnectionType, StageForm]] : [];
  });
}

/** The options `stage` accepts: every serving type's fields (the registry's specs declare them). */
export function stageFields(ctx: PlanContext, stage: ConnectorStageName): string[] {
  return [...new Set(servingForms(ctx, stage).flatMap(([, form]) => Object.keys(form.fields.properties)))];
}

/**
 * Resolves the connection `spec[field]` names for a connector-backed stage: one of the types whose spec serves
 * the stage, else ASP's mismatch message for it.
 */
export function resolveStageConnection(
  ctx: PlanContext,
  spec: Spec,
  field: string,
  stage: ConnectorStageName,
): ConnectionEntry | undefined {
  const forms = servingForms(ctx, stage);
  const mismatch = forms[0]?.[1].mismatch ?? `${stage} is not available in this build`;
  return resolveConnection(
    ctx,
    spec,
    field,
    forms.map(([type]) => type),
    mismatch,
  );
}

/**
 * Opens a stage whose top-level `connectionName` names its connection (`$https`, `$externalFunction`,
 * `$iceberg`) and resolves it. Undefined when the options are not a document.
 */
export function openConnectedStage(
  value: unknown,
  path: string,
  ctx: PlanContext,
  stage: ConnectorStageName,
): ConnectedStageSpec | undefined {
  const spec = Spec.open(value, path, stage, ctx.issues, stageFields(ctx, stage));
  if (!spec) return undefined;
  return { spec, connection: resolveStageConnection(ctx, spec, "connectionName", stage) };
}

/**
 * Resolves the connection whose type picks the form of `$source` / `$emit`. When it does not resolve, still
 * reports the fields no form knows (`knownFields`).
 */
export function resolveFormConnection(
  value: Doc,
  path: string,
  ctx: PlanContext,
  stage: string,
  types: readonly ConnectionType[],
  mismatch: string,
  knownFields: readonly string[],
): ConnectionEntry | undefined {
  const probe = Spec.open(value, path, stage, ctx.issues, Object.keys(value));
  if (!probe) return undefined;
  const connection = resolveConnection(ctx, probe, "connectionName", types, mismatch);
  if (!connection) Spec.open(value, path, stage, ctx.issues, knownFields);
  return connection;
}
