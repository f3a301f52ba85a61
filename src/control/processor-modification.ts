/**
 * What a modify request changes: the new definition, checked like a create (name, pipeline, options), and
 * whether the run may resume from its checkpoint (a change the checkpoint cannot follow needs
 * `resumeFromCheckpoint: false`).
 */
import type { Doc } from "../mql/index.ts";
import type { ConnectionCatalog } from "../pipeline/plan.ts";
import { CONNECTORS } from "../connectors/registry.ts";
import { invalid } from "./errors.ts";
import { modifyRefusalReason, NEEDS_RESET } from "./modify-rules.ts";
import { nameProblem } from "./names.ts";
import { planDefinition, type ProcessorDefinition } from "./processor-definition.ts";
import type { ProcessorRecord } from "./processor-registry.ts";

export interface ModifyRequest {
  readonly name?: string;
  readonly pipeline?: readonly unknown[];
  readonly options?: Doc;
  readonly resumeFromCheckpoint?: boolean;
}

export interface Modification {
  readonly definition: ProcessorDefinition;
  /** False: the checkpoint is discarded and the processor starts afresh. */
  readonly resume: boolean;
}

/** The modified definition; throws an invalid-request error when the change cannot be applied. */
export function planModification(
  record: ProcessorRecord,
  change: ModifyRequest,
  catalog: ConnectionCatalog,
): Modification {
  const name = change.name ?? record.name;
  const nameIssue = nameProblem(name, "name", "processor");
  if (nameIssue) throw invalid("INVALID_BODY", { problem: `name: ${nameIssue.message}` }, [nameIssue]);
  const definition: ProcessorDefinition = {
    name,
    pipeline: change.pipeline ?? record.pipeline,
    options: { ...record.options, ...(change.options ?? {}) },
  };
  planDefinition(definition, catalog, definition, { ephemeral: record.ephemeral });
  const resume = change.resumeFromCheckpoint ?? true;
  const reason = resume
    ? modifyRefusalReason(record.pipeline, definition.pipeline, keepsNoPosition(record, catalog))
    : undefined;
  if (reason) {
    throw invalid("MODIFY_NEEDS_RESET", { reason }, [{ path: "pipeline", message: reason }]);
  }
  // One task keeps one checkpoint; scaled out, each partition keeps its own (docs/scale-out.md): neither
  // carries over to the other.
  if (resume && scaledOut(record.options) !== scaledOut(definition.options)) {
    const scaling = `${NEEDS_RESET} change options.parallelism between 1 and more than 1 (one checkpoint per processor or one per partition)`;
    throw invalid("MODIFY_NEEDS_RESET", { reason: scaling }, [
      { path: "options.parallelism", message: scaling },
    ]);
  }
  return { definition, resume };
}

function scaledOut(options: Doc | undefined): boolean {
  return typeof options?.parallelism === "number" && options.parallelism > 1;
}

/** An inline-documents `$source`, or one whose type keeps no position (Sample), has nothing to resume from. */
function keepsNoPosition(record: ProcessorRecord, catalog: ConnectionCatalog): boolean {
  const first = record.pipeline[0] as Doc | undefined;
  const source = first?.$source as Doc | undefined;
  if (!source) return false;
  if (source.documents !== undefined) return true;
  const type =
    typeof source.connectionName === "string" ? catalog.get(source.connectionName)?.type : undefined;
  return type !== undefined && CONNECTORS.find(type)?.source?.positionless === true;
}
