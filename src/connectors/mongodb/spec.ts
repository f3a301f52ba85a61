/**
 * Cluster: a MongoDB deployment reached by a connection string. `$source` opens a change stream, `$emit`
 * writes a time-series collection; `$merge`, `$lookup` and the DLQ use the same connections. Pure: the driver
 * is imported when a source or sink is opened.
 */
import type { Evaluator } from "../../mql/index.ts";
import type { PlanContext } from "../../pipeline/context.ts";
import type { Spec } from "../../pipeline/spec.ts";
import { compileStringOrExpression } from "../../pipeline/stages/expressions.ts";
import { UnavailableConnectorError } from "../errors.ts";
import { required } from "../open-helpers.ts";
import { defineConnector } from "../spec.ts";
import { requireStringSetting } from "../setting-checks.ts";
import { DOCUMENT_RETRY_SETTINGS, documentRetryPolicy } from "../document-retries.ts";
import {
  BEFORE_CHANGE,
  FULL_DOCUMENT,
  planChangeStreamSource,
  READ_PREFERENCES,
  type ClusterSourceOptions,
} from "./change-stream-options.ts";
import { CACHED_LOOKUP, CLUSTER_DLQ, LOOKUP, MERGE, type ClusterDlqTarget } from "./stage-forms.ts";

const GRANULARITY = ["seconds", "minutes", "hours"] as const;

/** `$emit` to a time-series collection; `db`/`coll` as written (literal or expression, compiled in `evaluators`). */
export interface TimeseriesEmitOptions {
  readonly db: unknown;
  readonly coll: unknown;
  readonly timeseries: {
    readonly timeField: string;
    readonly metaField?: string;
    readonly granularity?: (typeof GRANULARITY)[number];
    readonly bucketMaxSpanSeconds?: number;
    readonly bucketRoundingSeconds?: number;
  };
}

const stringOrExpression = { anyOf: [{ type: "string" }, { type: "object" }] };

export const cluster = defineConnector<ClusterSourceOptions, TimeseriesEmitOptions, ClusterDlqTarget>({
  type: "Cluster",
  aliases: ["cluster", "atlas"],
  description:
    "A MongoDB deployment: change-stream `$source`, `$merge`, time-series `$emit`, `$lookup`, DLQ.",
  connection: {
    properties: {
      uri: { type: "string", description: 'MongoDB connection string, e.g. "{{MONGODB_URI}}".' },
      clusterName: { type: "string", description: "Atlas cluster name; Eddy needs `uri` instead." },
      dbRoleToExecute: { type: "object", description: "Accepted for ASP compatibility; not used." },
      ...DOCUMENT_RETRY_SETTINGS,
    },
    required: ["uri"],
  },
  checkConnection: (connection) =>
    requireStringSetting(
      connection,
      "uri",
      'Eddy connects to MongoDB with a connection string: set config.uri (e.g. "{{MONGODB_URI}}")',
      { pattern: /^mongodb(\+srv)?:\/\//, text: "a mongodb:// or mongodb+srv:// URI" },
    ),
  source: {
    label: "Cluster (change stream)",
    startPositions: true,
    fields: {
      properties: {
        db: { type: "string", description: "Database to watch; omit for the whole cluster." },
        coll: {
          anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
          description: "Collection(s) to watch (needs `db`).",
        },
        config: {
          type: "object",
          additionalProperties: false,
          description:
            "`fullDocument`, `fullDocumentBeforeChange` (off), `fullDocumentOnly` (false), `pipeline`, " +
            "`startAfter`, `startAtOperationTime`, `maxAwaitTimeMS` (1000), `batchSize`.",
          properties: {
            startAfter: { type: "object" },
            startAtOperationTime: {},
            fullDocument: { enum: [...FULL_DOCUMENT] },
            fullDocumentBeforeChange: { enum: [...BEFORE_CHANGE] },
            fullDocumentOnly: { type: "boolean" },
            pipeline: { type: "array", items: { type: "object" } },
            maxAwaitTimeMS: { type: "integer" },
            batchSize: { type: "integer" },
          },
        },
        readPreference: { enum: [...READ_PREFERENCES] },
        readPreferenceTags: { type: "array" },
        initialSync: {
          type: "object",
          additionalProperties: false,
          description:
            "`{enable (false), parallelism (1)}`: read the existing documents first, `parallelism` collections at once.",
          properties: { enable: { type: "boolean" }, parallelism: { type: "integer", minimum: 1 } },
        },
      },
    },
    plan: planChangeStreamSource,
  },
  emit: {
    label: "Cluster (time series)",
    operatorName: "TimeseriesEmitOperator",
    fields: {
      properties: {
        db: { ...stringOrExpression, description: "Database, or an expression giving it per document." },
        coll: { ...stringOrExpression, description: "Collection, or an expression giving it per document." },
        timeseries: {
          type: "object",
          additionalProperties: false,
          required: ["timeField"],
          description: "`{timeField, metaField, granularity, bucketMaxSpanSeconds, bucketRoundingSeconds}`.",
          properties: {
            timeField: { type: "string" },
            metaField: { type: "string" },
            granularity: { enum: [...GRANULARITY] },
            bucketMaxSpanSeconds: { type: "integer" },
            bucketRoundingSeconds: { type: "integer" },
          },
        },
      },
      required: ["db", "coll", "timeseries"],
    },
    plan: planTimeseriesEmit,
  },
  stages: { $merge: MERGE, $lookup: LOOKUP, $cachedLookup: CACHED_LOOKUP },
  dlq: CLUSTER_DLQ,
  async openSource(source, ctx) {
    const { ChangeStreamSource } = await import("./change-stream-source.ts");
    const { initialSyncPosition } = await import("./initial-sync.ts");
    const initialSync = initialSyncPosition(ctx.positions.initialSync);
    return new ChangeStreamSource(required(ctx.clients).mongoClient(source.connectionName ?? ""), source, {
      resumeAfterToken: ctx.positions.resumeToken as never,
      ...(initialSync !== undefined ? { initialSync } : {}),
    });
  },
  async openSink(sink, ctx) {
    const { TimeseriesEmitSink } = await import("./timeseries-sink.ts");
    return new TimeseriesEmitSink(required(ctx.clients).mongoClient(sink.connectionName), sink);
  },
  async openStageSink(sink, ctx) {
    if (sink.kind !== "merge")
      throw new UnavailableConnectorError(`a Cluster ${sink.stage} sink does not exist`);
    const { MergeSink } = await import("./merge-sink.ts");
    return new MergeSink(required(ctx.clients).mongoClient(sink.connectionName), sink, {
      documentRetries: documentRetryPolicy(ctx.settings),
    });
  },
  async loadStages() {
    const [{ createLookupStage }, { mongoForeign }] = await Promise.all([
      import("./lookup-stage.ts"),
      import("./lookup.ts"),
    ]);
    return (stage, ctx) => {
      if (stage.kind !== "lookup" && stage.kind !== "cachedLookup")
        throw new UnavailableConnectorError(`${stage.path}: a Cluster connection does not run ${stage.kind}`);
      return createLookupStage(
        stage,
        mongoForeign(ctx.clients.mongoClient(stage.connectionName ?? "")),
        ctx.run,
        ctx.stats,
      );
    };
  },
  async openDlq(target, ctx) {
    const { MongoDlqWriter } = await import("./dlq-writer.ts");
    return new MongoDlqWriter(ctx.clients.mongoClient(target.connectionName), target);
  },
});

function planTimeseriesEmit(
  spec: Spec,
  ctx: PlanContext,
  evaluators: Record<string, Evaluator>,
): TimeseriesEmitOptions | undefined {
  compileStringOrExpression(ctx, spec, "db", evaluators, true);
  compileStringOrExpression(ctx, spec, "coll", evaluators, true);
  const ts = spec.object(
    "timeseries",
    ["timeField", "metaField", "granularity", "bucketMaxSpanSeconds", "bucketRoundingSeconds"],
    true,
  );
  const timeField = ts?.string("timeField", true);
  const metaField = ts?.string("metaField");
  const granularity = ts?.enumOf("granularity", GRANULARITY);
  const bucketMaxSpanSeconds = ts?.int("bucketMaxSpanSeconds");
  const bucketRoundingSeconds = ts?.int("bucketRoundingSeconds");
  if (timeField === undefined) return undefined;
  return {
    db: spec.raw("db"),
    coll: spec.raw("coll"),
    timeseries: {
      timeField,
      ...(metaField !== undefined ? { metaField } : {}),
      ...(granularity !== undefined ? { granularity } : {}),
      ...(bucketMaxSpanSeconds !== undefined ? { bucketMaxSpanSeconds } : {}),
      ...(bucketRoundingSeconds !== undefined ? { bucketRoundingSeconds } : {}),
    },
  };
}
