/**
 * The plan: what `src/pipeline` produces from a processor definition and `src/runtime` executes.
 * Every MQL spec in it is already compiled; every option already validated and defaulted as ASP does.
 */
import type { CompiledGroup, Doc, Evaluator, Predicate, Vars } from "../mql/index.ts";

/**
 * `options.dlq`: its connection and the target its connection type's DLQ form read (a Cluster's `{db, coll}`,
 * a Kafka `{topic}`).
 */
export type DlqTarget<T = Readonly<Record<string, unknown>>> = { readonly connectionName: string } & T;

/** A connection type's ASP name ("Cluster", "Kafka"…): the connector registry (`src/connectors/registry.ts`) lists them. */
export type ConnectionType = string;

/** One registered connection. `config` holds the type's settings (clusterName/uri, bootstrapServers, url, path…). */
export interface ConnectionEntry {
  readonly name: string;
  readonly type: ConnectionType;
  readonly config?: Doc;
}

/** What the planner needs to know about the connection registry. */
export interface ConnectionCatalog {
  get(name: string): ConnectionEntry | undefined;
  /** Known names, for "unknown connection" hints. */
  names?(): readonly string[];
}

export interface ProcessorPlan {
  readonly name: string;
  readonly source: SourcePlan;
  /** Stages between the source and the sink, in order. At most one is a window. */
  readonly stages: readonly StagePlan[];
  /** Undefined for an ephemeral (`sp process`) processor without a sink. */
  readonly sink: SinkPlan | undefined;
  readonly dlq: DlqTarget | undefined;
  /** `options.parallelism` above 1: the Kafka source's partitions are split over this many tasks (docs/scale-out.md). */
  readonly parallelism?: number;
  /** The definition as given (for stats/`pipeline` echo). */
  readonly definition: {
    readonly name: string;
    readonly pipeline: readonly unknown[];
    readonly options: Doc;
  };
}

/**
 * `$source`: `type` is the connection type whose connector reads it ("Cluster", "Kafka"…), or "documents" for
 * inline documents; `options` are that type's `$source` options as its spec typed them, defaults applied.
 */
export interface SourcePlan<T = unknown> {
  readonly type: string;
  /** Undefined for inline documents. */
  readonly connectionName: string | undefined;
  readonly options: T;
  /** Event-time expression (`timeField`); undefined ⇒ the source's own timestamp. */
  readonly timeField: Evaluator | undefined;
  /** Field receiving the document timestamp, default `_ts`. */
  readonly tsFieldName: string;
  /** How long a quiet partition is ignored by the watermark (Kafka `partitionIdleTimeout`); undefined ⇒ never. */
  readonly partitionIdleTimeoutMs: number | undefined;
}

/** Inline `documents`: a literal list, or an expression evaluated once. */
export interface DocumentsSourceOptions {
  readonly documents: readonly Doc[] | Evaluator;
}

/** ASP engine operator class name, used in `operatorName` of DLQ records and in verbose stats. */
export type OperatorName = string;

export type StagePlan =
  | {
      readonly kind: "match";
      readonly operatorName: OperatorName;
      readonly path: string;
      readonly predicate: Predicate;
    }
  | {
      /** `$project`, `$addFields`/`$set`, `$unset`, `$replaceRoot`/`$replaceWith`, `$redact`. Returns undefined to drop (redact prune). */
      readonly kind: "transform";
      readonly operatorName: OperatorName;
      readonly path: string;
      readonly apply: (doc: Doc, vars?: Vars) => Doc | undefined;
    }
  | {
      readonly kind: "unwind";
      readonly operatorName: OperatorName;
      readonly path: string;
      readonly apply: (doc: Doc, vars?: Vars) => Doc[];
    }
  | {
      readonly kind: "validate";
      readonly operatorName: "ValidateOperator";
      readonly path: string;
      readonly predicate: Predicate;
      readonly action: "discard" | "dlq";
    }
  | {
      readonly kind: "setStreamMeta";
      readonly operatorName: OperatorName;
      readonly path: string;
      /** Keys without the `stream.` prefix, e.g. `coll`. */
      readonly fields: ReadonlyArray<readonly [string, Evaluator]>;
    }
  | {
      readonly kind: "window";
      readonly operatorName: OperatorName;
      readonly path: string;
      readonly window: WindowPlan;
    }
  | {
      /** `$lookup` / `$cachedLookup`: executed by the connector of the `from` connection's type. */
      readonly kind: "lookup" | "cachedLookup";
      /** The connection's type, whose spec opens the stage; undefined with the connection (a `$lookup` without `from`). */
      readonly type: string | undefined;
      readonly operatorName: OperatorName;
      readonly path: string;
      readonly connectionName: string | undefined;
      readonly options: LookupOptions;
      /** Compiled `let.<name>` and `partitionBy`. */
      readonly evaluators?: Readonly<Record<string, Evaluator>>;
    }
  | RequestStagePlan<"https", HttpsRequestOptions>
  | RequestStagePlan<"externalFunction", ExternalFunctionOptions>;

/** `$lookup` / `$cachedLookup` options, every default applied. */
export interface LookupOptions {
  /** Undefined for a `$lookup` without `from` (its `pipeline` alone), which no connector runs yet. */
  readonly from: { readonly db: string; readonly coll: string } | undefined;
  readonly localField?: string;
  readonly foreignField?: string;
  readonly as: string;
  /** The compiled `let` variables, by name. */
  readonly let?: Readonly<Record<string, Evaluator>>;
  /** Runs on the remote server; only its shape is checked. */
  readonly pipeline?: readonly Doc[];
  readonly parallelism: number;
  /** `$cachedLookup`: results per local value are reused for `ttlMs`, up to `maxBytes` of them. */
  readonly cache?: { readonly ttlMs: number; readonly maxBytes: number };
}

export interface WindowPlan {
  readonly type: "tumbling" | "hopping" | "session";
  /** Tumbling/hopping window length. */
  readonly intervalMs: number;
  /** Hopping: distance between window starts; tumbling: equals intervalMs; session: 0. */
  readonly hopMs: number;
  /** Session gap. */
  readonly gapMs: number;
  readonly offsetMs: number;
  readonly allowedLatenessMs: number;
  readonly idleTimeoutMs: number | undefined;
  readonly boundary: "eventTime" | "processingTime";
  /** Session windows: partition key expression. */
  readonly partitionBy: Evaluator | undefined;
  readonly pipeline: readonly WindowStagePlan[];
}

/** Stages allowed inside a window's pipeline: the stateless ones above plus the blocking ones. */
export type WindowStagePlan =
  | Exclude<StagePlan, { kind: "window" } | { kind: "setStreamMeta" } | { kind: "cachedLookup" }>
  | {
      readonly kind: "group";
      readonly operatorName: "GroupOperator";
      readonly path: string;
      readonly group: CompiledGroup;
    }
  | {
      readonly kind: "sort";
      readonly operatorName: "SortOperator";
      readonly path: string;
      readonly compare: (a: Doc, b: Doc) => number;
    }
  | {
      readonly kind: "limit";
      readonly operatorName: "LimitOperator";
      readonly path: string;
      readonly limit: number;
    }
  | {
      readonly kind: "count";
      readonly operatorName: "GroupOperator";
      readonly path: string;
      readonly field: string;
    };

export type SinkPlan =
  | {
      readonly kind: "merge";
      /** The connection's type, whose spec opens the sink. */
      readonly type: string;
      readonly operatorName: "MergeOperator";
      readonly path: string;
      readonly connectionName: string;
      /** Literal or compiled expression for db and coll. */
      readonly db: Evaluator;
      readonly coll: Evaluator;
      readonly options: Doc;
      /** Fields identifying the target document (default `["_id"]`). */
      readonly on?: readonly string[];
      readonly whenMatched?: MergeWhenMatched;
      readonly whenNotMatched?: MergeWhenNotMatched;
      /** `let` variables for a pipeline `whenMatched` (default `{new: "$$ROOT"}`), evaluated against the incoming document. */
      readonly let?: ReadonlyArray<readonly [string, Evaluator]>;
      readonly parallelism?: number;
    }
  | EmitPlan
  | ConnectorSinkPlan<"$https", HttpsRequestOptions>
  | ConnectorSinkPlan<"$externalFunction", ExternalFunctionOptions>
  | ConnectorSinkPlan<"$iceberg", IcebergOptions>;

/** A connector-backed stage that calls out per document (`$https`, `$externalFunction`). */
export interface RequestStagePlan<K extends string, O> {
  readonly kind: K;
  readonly type: string | undefined;
  readonly operatorName: OperatorName;
  readonly path: string;
  readonly connectionName: string | undefined;
  readonly options: O;
  /** Compiled expression options keyed by their path inside the stage (e.g. `path`, `parameters.lat`, `headers.X-Req`, `partitionBy`). */
  readonly evaluators?: Readonly<Record<string, Evaluator>>;
  /** `$https`/`$externalFunction` `payload`: the request body built from the document. */
  readonly payload?: (doc: Doc, vars?: Vars) => Doc | undefined;
}

/** Terminal connector stages: `$https` without `as`, `$externalFunction` with `execution: "async"`, `$iceberg` (validated; not all run yet). */
export interface ConnectorSinkPlan<S extends string, O> {
  readonly kind: "connector";
  readonly stage: S;
  readonly type: string;
  readonly operatorName: OperatorName;
  readonly path: string;
  readonly connectionName: string;
  readonly options: O;
  /** `$https`: compiled `path`, `parameters.*`, `headers.*` (as for the mid-pipeline stage). */
  readonly evaluators?: Readonly<Record<string, Evaluator>>;
  /** `$https` `payload`: the request body built from the document. */
  readonly payload?: (doc: Doc, vars?: Vars) => Doc | undefined;
}

/** `$https` options, every default applied (ASP: method GET mid-pipeline, POST as the last stage; timeouts 30/60 s). */
export interface HttpsRequestOptions {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Where the response goes; undefined for the terminal `$https`. */
  readonly as?: string;
  readonly onError: "dlq" | "ignore" | "fail";
  readonly connectionTimeoutSec: number;
  readonly requestTimeoutSec: number;
  readonly parseJsonStrings: boolean;
}

/** `$externalFunction` options, every default applied. */
export interface ExternalFunctionOptions {
  readonly functionName: string;
  readonly execution: "sync" | "async";
  readonly as?: string;
  readonly onError: "dlq" | "ignore" | "fail";
  readonly parallelism?: number;
}

/** `$iceberg` options; `tableName` may be an expression, kept as written for the connector to compile. */
export interface IcebergOptions {
  readonly bucket: string;
  readonly path?: string;
  readonly databaseName: string;
  readonly tableName: unknown;
  readonly catalog?: Doc;
}

/** `$emit`: `type` is the connection type whose connector writes it; `options` as its spec typed them. */
export interface EmitPlan<T = unknown> {
  readonly kind: "emit";
  readonly type: string;
  /** The form's ASP operator, e.g. KafkaEmitOperator, TimeseriesEmitOperator. */
  readonly operatorName: OperatorName;
  readonly path: string;
  readonly connectionName: string;
  readonly options: T;
  /**
   * Compiled expression options keyed by their path (Kafka `topic`, `config.key`…; time-series `db`, `coll`;
   * S3 `path`). Literals compile to constant evaluators.
   */
  readonly evaluators: Readonly<Record<string, Evaluator>>;
}

export type MergeMode = "merge" | "replace" | "keepExisting" | "delete";

export type MergeWhenMatched =
  | { readonly kind: "mode"; readonly mode: MergeMode }
  /** Update pipeline applied to the existing document; `vars` carries the `let` variables (`new`). */
  | { readonly kind: "pipeline"; readonly apply: (existing: Doc, vars: Vars) => Doc }
  /** Expression resolving per document to one of the modes (checked at run time). */
  | { readonly kind: "expression"; readonly evaluate: Evaluator };

export type MergeWhenNotMatched =
  | { readonly kind: "mode"; readonly mode: "insert" | "discard" }
  | { readonly kind: "expression"; readonly evaluate: Evaluator };

/** Sinks that are connector-backed stages rather than `$emit`: `$merge`, a terminal `$https`… */
export type StageSinkPlan = Exclude<SinkPlan, { kind: "emit" }>;

/** Stages run by connectors rather than by the runtime itself. */
export type ConnectorStagePlan = Extract<
  StagePlan,
  { kind: "lookup" | "cachedLookup" | "https" | "externalFunction" }
>;
