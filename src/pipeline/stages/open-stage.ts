import type { Doc } from "../../mql/index.ts";
import { resolveConnection, type PlanContext } from "../context.ts";
import type { ConnectionEntry, ConnectionType } from "../plan.ts";
import { Spec } from "../spec.ts";

/** The options of a stage that talks to one connection, and that connection when it resolved. */
export interface ConnectedStageSpec {
  readonly spec: Spec;
  readonly connection: ConnectionEntry | undefined;
}

/** What a stage that talks to one kind of connection (`$https`, `$externalFunction`, `$iceberg`) accepts. */
export interface ConnectedStageRule {
  readonly stage: string;
  readonly fields: readonly string[];
  /** Connection types `connectionName` may name, and the message when it names another type. */
  readonly types: readonly ConnectionType[];
  readonly mismatch: string;
}

/** Opens such a stage's options and resolves `connectionName`. Undefined when the options are not a document. */
export function openConnectedStage(
  value: unknown,
  path: string,
  ctx: PlanContext,
  rule: ConnectedStageRule,
): ConnectedStageSpec | undefined {
  const spec = Spec.open(value, path, rule.stage, ctx.issues, rule.fields);
  if (!spec) return undefined;
  return { spec, connection: resolveConnection(ctx, spec, "connectionName", rule.types, rule.mismatch) };
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
