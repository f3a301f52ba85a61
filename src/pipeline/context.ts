import { MqlCompileError } from "../mql/errors.ts";
import type { ConnectorCatalog } from "./connector-specs.ts";
import type { IssueList } from "./errors.ts";
import type {
  ConnectionCatalog,
  ConnectionEntry,
  ConnectionType,
  StagePlan,
  WindowStagePlan,
} from "./plan.ts";
import type { Spec } from "./spec.ts";

/** What every stage builder may consult while planning one processor. */
export interface PlanContext {
  readonly issues: IssueList;
  readonly connections: ConnectionCatalog;
  /** The connection types this build knows (their `$source`/`$emit` forms). */
  readonly connectors: ConnectorCatalog;
  /** True for `sp process` (no sink required, no default Kafka consumer group). */
  readonly ephemeral: boolean;
  readonly processorName: string;
  /** True when `options.dlq` names a dead letter queue. */
  readonly hasDlq: boolean;
  /** True when the main pipeline contains a window stage. */
  readonly hasWindow: boolean;
  /** Plans a nested pipeline (a window's `pipeline`, an `$https` `payload`) under that location's placement rules. */
  readonly planInner: (stages: unknown, path: string, location: InnerLocation) => AnyStagePlan[] | undefined;
}

export type AnyStagePlan = StagePlan | WindowStagePlan;

/** Where a nested pipeline sits; `stage` is the containing stage's name (for messages). */
export type InnerLocation =
  { readonly kind: "window"; readonly stage: string } | { readonly kind: "payload"; readonly stage: string };

/**
 * Runs an MQL compiler and turns its MqlCompileError into an issue (the error already names its path).
 * Returns undefined when compilation failed.
 */
export function compileAt<T>(ctx: PlanContext, path: string, compile: () => T): T | undefined {
  try {
    return compile();
  } catch (error) {
    if (error instanceof MqlCompileError) ctx.issues.add(error.path || path, error.detail);
    else if (error instanceof Error) ctx.issues.add(path, error.message);
    else throw error;
    return undefined;
  }
}

/**
 * Resolves the connection named by `spec[field]` and checks its type. Reports an unknown name (with the
 * known names as a hint) or a type outside `types` (with `mismatch`). Returns undefined on any problem.
 */
export function resolveConnection(
  ctx: PlanContext,
  spec: Spec,
  field: string,
  types: readonly ConnectionType[],
  mismatch: string,
): ConnectionEntry | undefined {
  const name = spec.string(field, true);
  if (name === undefined) return undefined;
  const entry = ctx.connections.get(name);
  if (!entry) return spec.error(field, unknownConnectionMessage(name, ctx.connections));
  if (!types.includes(entry.type))
    return spec.error(field, `${mismatch} (connection '${name}' is of type ${entry.type})`);
  return entry;
}

export function unknownConnectionMessage(name: string, connections: ConnectionCatalog): string {
  const known = connections.names?.() ?? [];
  const hint = known.length > 0 ? `known connections: ${known.join(", ")}` : "no connections are defined";
  return `Unknown connection name ${name}; ${hint}. Check sp.listConnections() for available connections.`;
}
