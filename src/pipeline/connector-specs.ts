/**
 * What the planner needs to know about connection types. The specs themselves live in `src/connectors/<type>/spec.ts`
 * and reach the planner through `PlanOptions.connectors`, so this folder names no connector.
 */
import type { Doc, Evaluator } from "../mql/index.ts";
import type { PlanContext } from "./context.ts";
import type { ConnectionEntry } from "./plan.ts";
import type { Spec } from "./spec.ts";

/** A JSON Schema (draft 2020-12) fragment, used for `sp schema` and the docs' option tables. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** A JSON Schema per field of an options document, and which fields are required. */
export interface FieldSchemas {
  readonly properties: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
}

/** One problem with a connection's settings; `path` is relative to the connection body. */
export interface SettingProblem {
  readonly path: string;
  readonly message: string;
  readonly expected?: string;
  readonly got?: string;
}

/** A connection's settings (`config` merged over the entry's top-level keys) and where each one is written. */
export interface ConnectionSettings {
  readonly name: string;
  readonly settings: Doc;
  /** The JSON path of setting `key` in the body as written (`config.key` or `key`). */
  readonly pathOf: (key: string) => string;
}

/** The `$source` form of a connection type. */
export interface SourceForm<T> {
  /** How mismatch messages name this form, e.g. "Cluster (change stream)"; default: the type name. */
  readonly label?: string;
  /** The form's own fields (the common `$source` fields are added by the planner). */
  readonly fields: FieldSchemas;
  /** `config.startAfter`/`config.startAtOperationTime` say where it starts (a start request may set them). */
  readonly startPositions?: boolean;
  /** It keeps no position a checkpoint could resume from (generated data): a modify may change it freely. */
  readonly positionless?: boolean;
  /**
   * Reads the options (the document was opened with exactly the form's and the common fields), reporting every
   * problem on `spec`; returns the typed options with every default applied, or undefined after a problem.
   */
  plan(spec: Spec, ctx: PlanContext, connection: ConnectionEntry): SourceFormResult<T> | undefined;
}

export interface SourceFormResult<T> {
  readonly options: T;
  /** How long a partition may stay quiet before the watermark stops waiting for it (Kafka `partitionIdleTimeout`). */
  readonly partitionIdleTimeoutMs?: number;
}

/** The `$emit` form of a connection type. */
export interface EmitForm<T> {
  readonly label?: string;
  /** Left out of the "needs a … connection" message (ASP's built-in `__testLog`). */
  readonly unlisted?: boolean;
  /** Position in that message when it differs from the registry order (ASP names Kafka first). */
  readonly mentionOrder?: number;
  readonly operatorName: string;
  readonly fields: FieldSchemas;
  /** Reads the options like `SourceForm.plan`; compiled expressions go into `evaluators` by their path. */
  plan(spec: Spec, ctx: PlanContext, evaluators: Record<string, Evaluator>): T | undefined;
}

/** ASP's stages that run against a connection, besides `$source` and `$emit`. */
export type ConnectorStageName =
  "$merge" | "$lookup" | "$cachedLookup" | "$https" | "$externalFunction" | "$iceberg";

/**
 * A connector-backed stage as one connection type serves it. The stage's grammar is ASP's and planned by
 * `src/pipeline/stages`; the spec says which types may serve it, which options it takes (the planner accepts
 * exactly these fields) and how its connector is opened.
 */
export interface StageForm {
  /** ASP's message when the stage names a connection of a type that does not serve it. */
  readonly mismatch: string;
  readonly fields: FieldSchemas;
}

/** `options.dlq` on a connection of this type. */
export interface DlqForm<T> {
  /** The fields besides `connectionName`; a connection of this type with all `required` ones picks this form. */
  readonly fields: FieldSchemas;
  /** The message when the DLQ's connection is of another type (from the form that applies by default). */
  readonly mismatch: string;
  /** Reads the target (the document was opened with every form's fields); undefined after a problem. */
  plan(dlq: Spec): T | undefined;
}

/** One connection type as the planner and the connection validator see it. */
export interface ConnectionTypeSpec {
  /** ASP's type name, e.g. "Kafka". */
  readonly type: string;
  /** Other spellings people write (lowercase; matched case-insensitively), e.g. "atlas" for Cluster. */
  readonly aliases: readonly string[];
  /** One line for docs and `sp schema`. */
  readonly description: string;
  /** The connection's settings (`config`). */
  readonly connection: FieldSchemas;
  /** The setting naming a file on the server's disk (File `path`), checked against what pipelines may read. */
  readonly fileSetting?: string;
  /** Problems with a connection's settings beyond what `connection` describes (placeholders allowed). */
  checkConnection?(connection: ConnectionSettings): SettingProblem[];
  readonly source?: SourceForm<unknown>;
  readonly emit?: EmitForm<unknown>;
  /** The connector-backed stages this type serves (`$merge`, `$lookup`, `$https`…). */
  readonly stages?: Readonly<Partial<Record<ConnectorStageName, StageForm>>>;
  /** Dead letters written through a connection of this type; the registry's first such type is the default. */
  readonly dlq?: DlqForm<unknown>;
}

/** The connection types known to a build, in the order messages list them. */
export interface ConnectorCatalog {
  readonly specs: readonly ConnectionTypeSpec[];
  /** The spec for a type name or alias (case-insensitive). */
  find(typeOrAlias: string): ConnectionTypeSpec | undefined;
}
