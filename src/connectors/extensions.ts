/**
 * What Eddy accepts that Atlas Stream Processing refuses or treats differently: one list, kept next to the
 * connector specs. `sp lint --atlas` reports each use with its JSON path (so a processor written against
 * Eddy stays portable) and `docs/asp-differences.md` is generated from it (`npm run docs:asp-differences`).
 */
import { isPlainObject, type Doc } from "../mql/index.ts";
import type { ConnectionCatalog, ConnectionEntry } from "../pipeline/plan.ts";
import { connectionSettings } from "./connection-settings.ts";

/** One use of an extension in a processor definition. */
export interface ExtensionUse {
  /** JSON path in the definition, e.g. `pipeline[3].$emit.config.exactlyOnce`. */
  readonly path: string;
  readonly extension: EddyExtension;
}

export interface EddyExtension {
  /** Stable id, e.g. `now-variable`. */
  readonly id: string;
  /** The construct as a user writes it (Markdown). */
  readonly construct: string;
  /** What Eddy does with it. */
  readonly eddy: string;
  /** What Atlas does with it (a sentence): refuses it, or runs it differently. */
  readonly atlas: string;
  /** How to keep the processor portable. */
  readonly portable: string;
  /** Where `definition` uses it (paths), given the connections it names. */
  readonly find: (definition: Doc, connections: ConnectionCatalog) => readonly string[];
}

/** Every Eddy extension a processor definition can use. */
export const EDDY_EXTENSIONS: readonly EddyExtension[] = [
  {
    id: "now-variable",
    construct: "`$$NOW` in an expression",
    eddy: "the processor's clock, one instant per batch (and at the close of a window)",
    atlas:
      "ASP's limitations page lists it as unsupported (MongoDB's own examples use it): a processor may be refused.",
    portable: "use `$_ts` or `$_stream_meta.window.end` (or `$$ROOT._ts`) for time stamps",
    find: (definition) => stringValuePaths(definition.pipeline, "pipeline", (s) => /^\$\$NOW(\.|$)/.test(s)),
  },
  {
    id: "kafka-exactly-once",
    construct: "`$emit.config.exactlyOnce` (Kafka)",
    eddy: "Kafka transactions, one per checkpoint: read_committed consumers see every output once",
    atlas: "Atlas refuses the unknown `config` field; its Kafka `$emit` is at-least-once.",
    portable: "drop it and make consumers idempotent",
    find: (definition) =>
      stagePaths(definition, "$emit", (spec, path) =>
        isPlainObject(spec.config) && "exactlyOnce" in spec.config ? [`${path}.config.exactlyOnce`] : [],
      ),
  },
  {
    id: "scheduled-source",
    construct: "a `Scheduled` connection (`$source` running a MongoDB query on a cron schedule)",
    eddy: "runs the query at each firing (`$$firedAt`, `$$lastFiredAt` in its filter) and emits the results",
    atlas: "Atlas has no Scheduled connection type.",
    portable: "trigger the pipeline from a change stream or Kafka topic fed by an external scheduler",
    find: usesConnectionType("Scheduled"),
  },
  {
    id: "document-retries",
    construct: "`maxRetries` / `retryDelayMs` on a Cluster or Kafka connection",
    eddy: "a document the target refuses is written again alone, with back-off, then dead-lettered with `attempts` in the record",
    atlas: "Atlas refuses unknown connection settings; its DLQ records carry no `attempts`.",
    portable: "drop the settings; ASP dead-letters a refused document at once",
    find: (definition, connections) =>
      connectionPaths(definition, connections, (entry) => {
        const settings = connectionSettings(entry);
        return "maxRetries" in settings || "retryDelayMs" in settings;
      }),
  },
  {
    id: "postgresql-connection",
    construct: "a `PostgreSQL` connection (`$emit` upserts into a table)",
    eddy: "batched multi-row upserts, exactly once with the checkpoint",
    atlas: "Atlas has no PostgreSQL connection type.",
    portable: "`$merge` into MongoDB, or `$emit` to Kafka with a JDBC sink connector",
    find: usesConnectionType("PostgreSQL"),
  },
  {
    id: "otlp-connection",
    construct: "an `OTLP` connection (`$source` receiving OpenTelemetry traces, metrics, logs)",
    eddy: "an OTLP/HTTP receiver as the processor's source",
    atlas: "Atlas has no OTLP connection type.",
    portable: "send telemetry through an OpenTelemetry Collector's Kafka exporter and read that topic",
    find: usesConnectionType("OTLP"),
  },
  {
    id: "file-connection",
    construct: "a `File` connection (`$source` from a JSON Lines file or stdin)",
    eddy: "reads the file (or stdin) as the processor's source",
    atlas: "Atlas has no File connection type.",
    portable: "inline `$source.documents`, or a Kafka topic",
    find: usesConnectionType("File"),
  },
  {
    id: "processor-parallelism",
    construct: "`options.parallelism` (or `sp processors create --parallelism N`)",
    eddy: "runs a Kafka-sourced processor as up to N tasks over the `sp serve` instances sharing a state store, one consumer group member each; windows keyed off the message key are repartitioned through `eddy-<processor>-repartition` (docs/scale-out.md)",
    atlas:
      "Atlas refuses the unknown option; it scales by tier and sets `parallelism` per stage (`$merge`, `$lookup`, `$externalFunction`).",
    portable: "drop it (one task reads every partition) and pick a bigger tier on Atlas",
    find: (definition) =>
      isPlainObject(definition.options) && "parallelism" in definition.options ? ["options.parallelism"] : [],
  },
  {
    id: "kafka-dlq",
    construct: "`options.dlq: {connectionName, topic}` on a Kafka connection",
    eddy: "writes dead letters to the Kafka topic",
    atlas:
      "Atlas requires the DLQ to be a collection (`{connectionName, db, coll}`) on a cluster connection.",
    portable: "dead-letter into a MongoDB collection",
    find: (definition) =>
      isPlainObject(definition.options) &&
      isPlainObject(definition.options.dlq) &&
      "topic" in definition.options.dlq
        ? ["options.dlq.topic"]
        : [],
  },
];

/** Every use of an Eddy extension in `definition`, in list order. */
export function findExtensionUses(definition: unknown, connections: ConnectionCatalog): ExtensionUse[] {
  if (!isPlainObject(definition) && !Array.isArray(definition)) return [];
  const doc: Doc = Array.isArray(definition) ? { pipeline: definition } : definition;
  return EDDY_EXTENSIONS.flatMap((extension) =>
    extension.find(doc, connections).map((path) => ({ path, extension })),
  );
}

/** Paths of the stages named `name` (their spec objects), mapped through `pick`. */
function stagePaths(definition: Doc, name: string, pick: (spec: Doc, path: string) => string[]): string[] {
  const pipeline = Array.isArray(definition.pipeline) ? definition.pipeline : [];
  return pipeline.flatMap((stage, i) =>
    isPlainObject(stage) && isPlainObject(stage[name]) ? pick(stage[name], `pipeline[${i}].${name}`) : [],
  );
}

/** The paths in a definition that name a connection of `type`. */
function usesConnectionType(type: string): EddyExtension["find"] {
  return (definition, connections) =>
    connectionPaths(definition, connections, (entry) => entry.type === type);
}

/** `connectionName` paths (anywhere in the pipeline, and in `options.dlq`) naming a connection `matches` accepts. */
function connectionPaths(
  definition: Doc,
  connections: ConnectionCatalog,
  matches: (entry: ConnectionEntry) => boolean,
): string[] {
  const out: string[] = [];
  walk(definition, "", (value, path, key) => {
    if (key !== "connectionName" || typeof value !== "string") return;
    const entry = connections.get(value);
    if (entry && matches(entry)) out.push(path);
  });
  return out;
}

/** Paths of the string values in `value` that `test` accepts. */
function stringValuePaths(value: unknown, base: string, test: (s: string) => boolean): string[] {
  const out: string[] = [];
  walk(value, base, (v, path) => {
    if (typeof v === "string" && test(v)) out.push(path);
  });
  return out;
}

function walk(
  value: unknown,
  path: string,
  visit: (value: unknown, path: string, key: string | undefined) => void,
  key?: string,
): void {
  visit(value, path, key);
  if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${path}[${i}]`, visit));
  else if (isPlainObject(value))
    for (const [k, v] of Object.entries(value)) walk(v, path === "" ? k : `${path}.${k}`, visit, k);
}

/** docs/asp-differences.md, generated from {@link EDDY_EXTENSIONS}. */
export function aspDifferencesMarkdown(): string {
  const escape = (text: string) => text.replace(/\|/g, "\\|");
  const rows = EDDY_EXTENSIONS.map(
    (e) => `| ${escape(e.construct)} | ${escape(e.eddy)} | ${escape(e.atlas)} | ${escape(e.portable)} |`,
  );
  return [
    "# What Eddy accepts that Atlas Stream Processing does not",
    "",
    "<!-- generated by `npm run docs:asp-differences` from src/connectors/extensions.ts; do not edit -->",
    "",
    "Eddy runs ASP processors unchanged, and accepts a few constructs ASP refuses or runs differently.",
    "`sp lint` accepts them; `sp lint --atlas` reports every use with its JSON path and why, so a processor",
    "written against Eddy stays portable to Atlas. The list below is the one `sp lint --atlas` checks.",
    "",
    "| construct | Eddy | Atlas | to stay portable |",
    "| --------- | ---- | ----- | ---------------- |",
    ...rows,
    "",
    "Server-side differences that do not change a processor definition (stats of stopped processors, the",
    "`lastCheckpoint` field, Prometheus metrics) are described in docs/api.md and",
    "docs/checkpoints.md.",
    "",
  ].join("\n");
}
