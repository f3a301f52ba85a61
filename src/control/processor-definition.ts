/**
 * A processor definition as the API receives it: `{name, pipeline, options?}` checked, planned against the
 * workspace's connections (every PlanError issue becomes a problem with its JSON path), and start options
 * (`startAfter`, `startAtOperationTime`) applied to a change-stream `$source`.
 */
import { isPlainObject } from "../mql/bson-types.ts";
import type { Doc } from "../mql/index.ts";
import { PlanError, planProcessor } from "../pipeline/index.ts";
import type { ConnectionCatalog, ProcessorPlan } from "../pipeline/plan.ts";
import { CONNECTORS } from "../connectors/registry.ts";
import { invalid, typeName, type Problem } from "./errors.ts";
import { nameProblem } from "./names.ts";

export interface ProcessorDefinition {
  readonly name: string;
  readonly pipeline: readonly unknown[];
  readonly options: Doc;
}

/** Checks the definition's shape, then plans it; throws an `invalid` ControlError listing every problem. */
export function checkDefinition(body: unknown, catalog: ConnectionCatalog): ProcessorDefinition {
  if (!isPlainObject(body)) {
    throw invalid("INVALID_BODY", { problem: "a processor is an object {name, pipeline, options?}" }, [
      {
        path: "",
        message: "a processor is an object {name, pipeline, options?}",
        expected: "object",
        got: typeName(body),
      },
    ]);
  }
  const problems: Problem[] = [];
  const nameIssue = nameProblem(body.name, "name", "processor");
  if (nameIssue) problems.push(nameIssue);
  if (problems.length > 0)
    throw invalid("INVALID_BODY", { problem: `${problems[0].path}: ${problems[0].message}` }, problems);
  const definition: ProcessorDefinition = {
    name: body.name as string,
    pipeline: body.pipeline as unknown[],
    options: (body.options as Doc | undefined) ?? {},
  };
  planDefinition(definition, catalog, body);
  return definition;
}

/** Plans `definition`; a PlanError becomes an `invalid` ControlError with a problem per issue. */
export function planDefinition(
  definition: ProcessorDefinition,
  catalog: ConnectionCatalog,
  source: unknown = definition,
): ProcessorPlan {
  try {
    return planProcessor(
      { name: definition.name, pipeline: definition.pipeline, options: definition.options },
      { connections: catalog, connectors: CONNECTORS },
    );
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    const problems = error.errors.map((issue) => ({
      path: issue.path,
      message: issue.message,
      got: describeAt(source, issue.path),
    }));
    throw invalid("INVALID_PIPELINE", { problem: error.message }, problems);
  }
}

export interface StartOptions {
  readonly resumeFromCheckpoint?: boolean;
  readonly startAtOperationTime?: unknown;
  readonly startAfter?: Doc;
}

/**
 * The pipeline with `startAfter`/`startAtOperationTime` put into `$source.config` (they replace each other).
 * Only a source whose connection type's spec takes start positions (a Cluster change stream) accepts them.
 */
export function withStartPosition(
  pipeline: readonly unknown[],
  options: StartOptions,
  catalog: ConnectionCatalog,
): readonly unknown[] {
  const { startAfter, startAtOperationTime } = options;
  if (startAfter === undefined && startAtOperationTime === undefined) return pipeline;
  const first = pipeline[0];
  const source = isPlainObject(first) && isPlainObject(first.$source) ? (first.$source as Doc) : undefined;
  const connection =
    source && typeof source.connectionName === "string" ? catalog.get(source.connectionName) : undefined;
  if (!source || !(connection && CONNECTORS.find(connection.type)?.source?.startPositions)) {
    const field = startAfter !== undefined ? "startAfter" : "startAtOperationTime";
    const forms = CONNECTORS.specs.flatMap((spec) =>
      spec.source?.startPositions ? [spec.source.label ?? spec.type] : [],
    );
    const takers = `a ${forms.join(" or ")} $source`;
    throw invalid("INVALID_BODY", { problem: `${field} applies to ${takers} only` }, [
      { path: field, message: `${field} applies to ${takers}; this processor's $source is not one` },
    ]);
  }
  const config: Doc = { ...((source.config as Doc | undefined) ?? {}) };
  delete config.startAfter;
  delete config.startAtOperationTime;
  if (startAfter !== undefined) config.startAfter = startAfter;
  else config.startAtOperationTime = operationTime(startAtOperationTime);
  return [{ $source: { ...source, config } }, ...pipeline.slice(1)];
}

/** An ISO-8601 string becomes a date; BSON timestamps and dates pass through. */
function operationTime(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw invalid(
      "INVALID_BODY",
      { problem: "startAtOperationTime must be an ISO-8601 date-time or a BSON timestamp" },
      [
        {
          path: "startAtOperationTime",
          message: "startAtOperationTime must be an ISO-8601 date-time or a BSON timestamp",
          expected: 'ISO-8601 date-time (e.g. "2025-01-31T12:00:00Z") or {"$timestamp": {"t": …, "i": …}}',
          got: JSON.stringify(value),
        },
      ],
    );
  }
  return date;
}

/** What sits at a JSON path like `pipeline[2].$match.a` (for a problem's `got`). */
function describeAt(root: unknown, path: string): string | undefined {
  if (path === "") return undefined;
  let current: unknown = root;
  for (const part of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (part.startsWith("[")) {
      if (!Array.isArray(current)) return undefined;
      current = current[Number(part.slice(1, -1))];
    } else {
      if (!isPlainObject(current)) return undefined;
      current = current[part];
    }
  }
  if (current === undefined) return "missing";
  if (typeof current === "string")
    return JSON.stringify(current.length > 80 ? current.slice(0, 77) + "..." : current);
  if (typeof current === "number" || typeof current === "boolean" || current === null) return String(current);
  return typeName(current);
}
