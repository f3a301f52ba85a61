import { isPlainObject } from "../../mql/bson-types.ts";
import type { Doc, Evaluator } from "../../mql/index.ts";
import type { PlanContext } from "../context.ts";
import type { ConnectionEntry, StagePlan } from "../plan.ts";
import { Spec } from "../spec.ts";
import type { ConnectorStageName } from "../connector-specs.ts";
import { compileOption, compileOptionMap } from "./expressions.ts";
import { resolveStageConnection, stageFields } from "./open-stage.ts";

const MAX_PARALLELISM = 64;

/**
 * `$lookup` against a remote Atlas collection (docs/asp-semantics.md §2.3): `from {connectionName, db, coll}` plus the
 * server's equality and `let`/`pipeline` forms. The inner `pipeline` runs on the remote server, so only its
 * shape is checked here.
 */
export function planLookup(value: unknown, path: string, ctx: PlanContext): StagePlan | undefined {
  const spec = Spec.open(value, path, "$lookup", ctx.issues, stageFields(ctx, "$lookup"));
  if (!spec) return undefined;
  const connection = readFrom(spec, ctx, "$lookup", !spec.has("pipeline"));
  const local = spec.string("localField");
  const foreign = spec.string("foreignField");
  if (spec.has("localField") !== spec.has("foreignField")) {
    spec.missing(spec.has("localField") ? "foreignField" : "localField");
  } else if (local === undefined && foreign === undefined && !spec.has("pipeline")) {
    spec.error(undefined, "$lookup needs localField and foreignField, or a pipeline");
  }
  const as = spec.string("as", true);
  const evaluators: Record<string, Evaluator> = {};
  compileOptionMap(ctx, spec, "let", evaluators);
  const pipeline = checkRemotePipeline(spec);
  const parallelism = readParallelism(spec);
  compileOption(ctx, spec, "partitionBy", evaluators);
  if (spec.hasIssuesSinceOpen() || as === undefined) return undefined;
  const lets = Object.entries(evaluators).filter(([key]) => key.startsWith("let."));
  return {
    kind: "lookup",
    type: connection?.type,
    operatorName: "LookUpOperator",
    path,
    connectionName: connection?.name,
    options: {
      from: fromNamespace(spec),
      ...(local !== undefined ? { localField: local } : {}),
      ...(foreign !== undefined ? { foreignField: foreign } : {}),
      as,
      ...(spec.has("let") ? { let: Object.fromEntries(lets.map(([key, e]) => [key.slice(4), e])) } : {}),
      ...(pipeline ? { pipeline } : {}),
      parallelism: parallelism ?? 1,
    },
    evaluators,
  };
}

/** `from: {connectionName, db, coll}` on a connection whose type serves `stage`; returns that connection. */
export function readFrom(
  spec: Spec,
  ctx: PlanContext,
  stage: ConnectorStageName,
  required: boolean,
): ConnectionEntry | undefined {
  const from = spec.object("from", ["connectionName", "db", "coll"], required);
  if (!from) return undefined;
  from.string("db", true);
  from.string("coll", true);
  return resolveStageConnection(ctx, from, "connectionName", stage);
}

export function readParallelism(spec: Spec): number | undefined {
  const parallelism = spec.int("parallelism");
  if (parallelism !== undefined && (parallelism < 1 || parallelism > MAX_PARALLELISM)) {
    spec.error("parallelism", `parallelism must be between 1 and ${MAX_PARALLELISM}, got ${parallelism}`);
  }
  return parallelism;
}

/** `from`'s namespace once `readFrom` accepted it; undefined without `from`. */
export function fromNamespace(spec: Spec): { db: string; coll: string } | undefined {
  const from = spec.raw("from");
  return isPlainObject(from) ? { db: String(from.db), coll: String(from.coll) } : undefined;
}

/** The remote `pipeline`: its stages' shape only (they run on the server). */
function checkRemotePipeline(spec: Spec): Doc[] | undefined {
  const stages = spec.array("pipeline");
  stages?.forEach((stage, i) => {
    if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
      spec.issues.add(
        `${spec.fieldPath("pipeline")}[${i}]`,
        "A pipeline stage specification object must contain exactly one field.",
      );
    }
  });
  return stages as Doc[] | undefined;
}
