/**
 * What a Cluster connection serves besides `$source`/`$emit`: the `$merge`, `$lookup` and `$cachedLookup`
 * options (planned by `src/pipeline/stages`, which accepts exactly these fields) and the DLQ target.
 */
import type { DlqForm, StageForm } from "../../pipeline/connector-specs.ts";

const stringOrExpression = { anyOf: [{ type: "string" }, { type: "object" }] };
const namespace = {
  type: "object",
  additionalProperties: false,
  properties: { connectionName: { type: "string" }, db: stringOrExpression, coll: stringOrExpression },
};
const expressions = { type: "object", description: "Variables: name → expression." };
const parallelism = { type: "integer", minimum: 1, maximum: 64, description: "Requests in flight (1)." };

export const MERGE: StageForm = {
  mismatch: "Only atlas merge connection type is currently supported",
  fields: {
    properties: {
      into: {
        ...namespace,
        required: ["connectionName", "db", "coll"],
        description: "The target collection.",
      },
      on: {
        anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
        description: 'Fields identifying the target document (`"_id"`).',
      },
      whenMatched: {
        anyOf: [
          { enum: ["merge", "replace", "keepExisting", "delete"] },
          { type: "array" },
          { type: "object" },
        ],
        description: "A mode (`merge`), an update pipeline, or an expression giving a mode.",
      },
      whenNotMatched: {
        anyOf: [{ enum: ["insert", "discard"] }, { type: "object" }],
        description: "`insert` (default) or `discard`, or an expression giving one.",
      },
      let: { ...expressions, description: 'Variables for a `whenMatched` pipeline (`{new: "$$ROOT"}`).' },
      parallelism,
    },
    required: ["into"],
  },
};

const lookupFrom = {
  ...namespace,
  required: ["connectionName", "db", "coll"],
  description: "The collection to join: `{connectionName, db, coll}`.",
};

export const LOOKUP: StageForm = {
  mismatch: "Only atlas connection type is currently supported for $lookup",
  fields: {
    properties: {
      from: lookupFrom,
      localField: { type: "string" },
      foreignField: { type: "string" },
      as: { type: "string" },
      let: expressions,
      pipeline: { type: "array", items: { type: "object" }, description: "Runs on the remote server." },
      parallelism,
      partitionBy: { description: "Expression: documents of one value are looked up in order." },
    },
    required: ["as"],
  },
};

export const CACHED_LOOKUP: StageForm = {
  mismatch: "Only atlas connection type is currently supported for $cachedLookup",
  fields: {
    properties: {
      ttl: { type: "object", description: "`{size, unit}`: how long a looked-up result is kept." },
      maxMemUsageBytes: { type: "integer", description: "Cache size (64 MiB)." },
      from: lookupFrom,
      localField: { type: "string" },
      foreignField: { type: "string" },
      as: { type: "string" },
    },
    required: ["ttl", "from", "localField", "foreignField", "as"],
  },
};

/** `options.dlq {connectionName, db, coll}`: dead letters inserted into a collection (ASP's only kind). */
export interface ClusterDlqTarget {
  readonly db: string;
  readonly coll: string;
}

export const CLUSTER_DLQ: DlqForm<ClusterDlqTarget> = {
  fields: { properties: { db: { type: "string" }, coll: { type: "string" } }, required: ["db", "coll"] },
  mismatch: "The dead letter queue must use an atlas connection",
  plan(dlq) {
    const db = dlq.string("db", true);
    const coll = dlq.string("coll", true);
    return db !== undefined && coll !== undefined ? { db, coll } : undefined;
  },
};
