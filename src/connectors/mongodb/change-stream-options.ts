import { bsonTag, isPlainObject } from "../../mql/bson-types.ts";
import type { Doc } from "../../mql/index.ts";
import type { PlanContext } from "../../pipeline/context.ts";
import type { Spec } from "../../pipeline/spec.ts";

export const FULL_DOCUMENT = ["default", "updateLookup", "whenAvailable", "required"] as const;
export const BEFORE_CHANGE = ["off", "whenAvailable", "required"] as const;
export const READ_PREFERENCES = [
  "primary",
  "primaryPreferred",
  "secondary",
  "secondaryPreferred",
  "nearest",
] as const;
const DEFAULT_MAX_AWAIT_MS = 1000;

/** `$source` on a Cluster connection, its options typed with the defaults applied. */
export interface ClusterSourceOptions {
  readonly db: string | undefined;
  readonly coll: string | readonly string[] | undefined;
  /** fullDocument, fullDocumentBeforeChange ("off"), fullDocumentOnly (false), pipeline, startAfter, startAtOperationTime, maxAwaitTimeMS (1000), batchSize, readPreference, readPreferenceTags. */
  readonly config: Doc;
  readonly initialSync: { readonly enable: boolean; readonly parallelism: number } | undefined;
}

/** `$source` on a Cluster connection: a collection, database or cluster change stream (docs/asp-semantics.md §1.3). */
export function planChangeStreamSource(
  spec: Spec,
  ctx: PlanContext,
): { options: ClusterSourceOptions } | undefined {
  const db = spec.string("db");
  const coll = spec.stringOrStrings("coll");
  if (coll !== undefined && db === undefined && !spec.has("db"))
    spec.error("coll", "If coll is specified, db must be specified.");
  if (db === "")
    spec.error("db", "Cannot specify an empty database name to $source when configuring a change stream");
  const config = readChangeStreamConfig(spec);
  const readPreference = spec.enumOf("readPreference", READ_PREFERENCES);
  const tags = spec.array("readPreferenceTags");
  const initialSync = readInitialSync(spec, ctx);
  if (spec.hasIssuesSinceOpen() || !config) return undefined;
  if (readPreference !== undefined) config.readPreference = readPreference;
  if (tags !== undefined) config.readPreferenceTags = tags;
  return { options: { db, coll, config, initialSync } };
}

function readChangeStreamConfig(spec: Spec): Doc | undefined {
  if (!spec.has("config"))
    return { fullDocumentBeforeChange: "off", fullDocumentOnly: false, maxAwaitTimeMS: DEFAULT_MAX_AWAIT_MS };
  const config = spec.object("config", [
    "startAfter",
    "startAtOperationTime",
    "fullDocument",
    "fullDocumentBeforeChange",
    "fullDocumentOnly",
    "pipeline",
    "maxAwaitTimeMS",
    "batchSize",
  ]);
  if (!config) return undefined;
  const out: Doc = {};
  const startAfter = config.doc("startAfter");
  const startAt = config.raw("startAtOperationTime");
  if (startAt !== undefined && !(startAt instanceof Date) && bsonTag(startAt as object) !== "Timestamp") {
    config.wrongType("startAtOperationTime", "[timestamp, date]");
  }
  if (startAfter !== undefined && startAt !== undefined) {
    config.error("startAtOperationTime", "startAfter and startAtOperationTime cannot both be set");
  }
  const fullDocument = config.enumOf("fullDocument", FULL_DOCUMENT);
  const beforeChange = config.enumOf("fullDocumentBeforeChange", BEFORE_CHANGE);
  const fullDocumentOnly = config.bool("fullDocumentOnly");
  if (fullDocumentOnly) {
    if (fullDocument !== "updateLookup" && fullDocument !== "required") {
      config.error(
        "fullDocumentOnly",
        "fullDocumentOnly is set to true, fullDocument mode can either be updateLookup or required",
      );
    }
    if (beforeChange !== undefined && beforeChange !== "off") {
      config.error(
        "fullDocumentOnly",
        "fullDocumentBeforeChange is set, so fullDocumentOnly should not be set.",
      );
    }
  }
  const pipeline = config.array("pipeline");
  pipeline?.forEach((stage, i) => {
    if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
      spec.issues.add(
        `${config.fieldPath("pipeline")}[${i}]`,
        "A pipeline stage specification object must contain exactly one field.",
      );
    }
  });
  const maxAwait = config.int("maxAwaitTimeMS");
  const batchSize = config.int("batchSize");
  if (startAfter !== undefined) out.startAfter = startAfter;
  if (startAt !== undefined) out.startAtOperationTime = startAt;
  if (fullDocument !== undefined) out.fullDocument = fullDocument;
  out.fullDocumentBeforeChange = beforeChange ?? "off";
  out.fullDocumentOnly = fullDocumentOnly ?? false;
  if (pipeline !== undefined) out.pipeline = pipeline;
  out.maxAwaitTimeMS = maxAwait ?? DEFAULT_MAX_AWAIT_MS;
  if (batchSize !== undefined) out.batchSize = batchSize;
  return out;
}

function readInitialSync(spec: Spec, ctx: PlanContext): { enable: boolean; parallelism: number } | undefined {
  const sync = spec.object("initialSync", ["enable", "parallelism"]);
  if (!sync) return undefined;
  const enable = sync.bool("enable") ?? false;
  const parallelism = sync.int("parallelism") ?? 1;
  if (parallelism < 1) sync.error("parallelism", "initialSync.parallelism must be at least 1");
  if (enable && ctx.hasWindow)
    sync.error("enable", "initialSync cannot be used in a pipeline with a window stage");
  return { enable, parallelism };
}
