/**
 * Turns an App Services export into an Eddy workspace: one processor per database trigger (a change
 * stream `$source` with the trigger's operation types, match, project and full-document options, ending in
 * the sink that stands in for its function), a Scheduled source per scheduled trigger, and a report entry
 * for every trigger, including those that cannot be converted.
 */
import type { Doc } from "../mql/index.ts";
import type { AppExport, ExportedFunction, ExportedTrigger } from "./export-reader.ts";
import { analyseFunction, type FunctionAnalysis } from "./function-analysis.ts";

export type ConversionStatus = "converted" | "needs-review" | "not-convertible";

export interface ConvertedTrigger {
  readonly trigger: ExportedTrigger;
  readonly status: ConversionStatus;
  /** The processor definition `{name, pipeline, options}` (absent when not convertible). */
  readonly processor?: Doc;
  /** What the processor does instead of the function, one sentence. */
  readonly replacement: string;
  readonly notes: readonly string[];
  readonly func?: ExportedFunction;
}

export interface ConversionOptions {
  /**
   * A PostgreSQL connection string (or `{{VAR}}`): functions that POST a row built from the document to
   * a warehouse become a PostgreSQL `$emit` upsert instead of a `$https` call.
   */
  readonly postgres?: string;
  /** The MongoDB connection string written into the Cluster connection (default `{{MONGODB_URI}}`). */
  readonly mongodbUri?: string;
}

export interface Conversion {
  readonly connections: Doc[];
  readonly triggers: readonly ConvertedTrigger[];
}

const DEFAULT_SERVICE = "mongodb-atlas";
export const WAREHOUSE_CONNECTION = "warehouse";
const FUNCTIONS_CONNECTION = "functions_endpoint";

export function convertExport(app: AppExport, options: ConversionOptions = {}): Conversion {
  const connections = new Map<string, Doc>();
  const cluster = (service: string) => {
    if (!connections.has(service))
      connections.set(service, {
        name: service,
        type: "Cluster",
        config: { uri: options.mongodbUri ?? "{{MONGODB_URI}}" },
      });
    return service;
  };
  const https = (url: string) => {
    const { origin, host } = new URL(url);
    const name = `http_${host.replace(/[^A-Za-z0-9]+/g, "_")}`;
    if (!connections.has(name)) connections.set(name, { name, type: "Https", config: { url: origin } });
    return name;
  };
  const context: BuildContext = { options, cluster, https, connections };
  const triggers = app.triggers.map((trigger) => {
    const func = trigger.functionName === undefined ? undefined : app.functions.get(trigger.functionName);
    return convertTrigger(trigger, func, context);
  });
  return { connections: [...connections.values()], triggers };
}

interface BuildContext {
  readonly options: ConversionOptions;
  readonly cluster: (service: string) => string;
  readonly https: (url: string) => string;
  readonly connections: Map<string, Doc>;
}

function convertTrigger(
  trigger: ExportedTrigger,
  func: ExportedFunction | undefined,
  context: BuildContext,
): ConvertedTrigger {
  const notes: string[] = [];
  if (trigger.disabled)
    notes.push(
      "The trigger is disabled in the export: the processor is written but should not be started until you mean it.",
    );
  if (trigger.otherProcessors.length > 0)
    notes.push(
      `Event processors ${trigger.otherProcessors.join(", ")} are not converted; an $emit to a Kafka connection is the usual replacement for AWS EventBridge.`,
    );
  if (trigger.functionName !== undefined && !func)
    notes.push(
      `Function '${trigger.functionName}' is not in functions/ of the export: the sink is a placeholder.`,
    );
  switch (trigger.type) {
    case "DATABASE":
      return convertDatabaseTrigger(trigger, func, context, notes);
    case "SCHEDULED":
      return convertScheduledTrigger(trigger, func, context, notes);
    case "AUTHENTICATION":
      return notConvertible(
        trigger,
        func,
        notes,
        `Authentication triggers fire on App Services logins (${String(trigger.config.operation_type ?? "LOGIN")}), which no change stream sees: keep the trigger, or move the logic into your authentication service.`,
      );
    default:
      return {
        trigger,
        func,
        status: "not-convertible",
        replacement: "none",
        notes: [...notes, `Unknown trigger type '${trigger.type}'.`],
      };
  }
}

/** `INSERT` → `insert`, `CREATE_INDEXES` → `createIndexes`. */
export function operationTypeName(type: string): string {
  return type.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function convertDatabaseTrigger(
  trigger: ExportedTrigger,
  func: ExportedFunction | undefined,
  context: BuildContext,
  notes: string[],
): ConvertedTrigger {
  const config = trigger.config;
  const service = context.cluster(
    typeof config.service_name === "string" ? config.service_name : DEFAULT_SERVICE,
  );
  const db = typeof config.database === "string" && config.database !== "" ? config.database : undefined;
  const coll =
    typeof config.collection === "string" && config.collection !== "" ? config.collection : undefined;
  let operations = (Array.isArray(config.operation_types) ? config.operation_types : []).map((t) =>
    operationTypeName(String(t)),
  );
  const analysis = func ? analyseFunction(func.source) : undefined;
  const sink = chooseSink(trigger, analysis, context, operations, notes);
  if (sink.dropDeletes) operations = operations.filter((op) => op !== "delete");
  const changePipeline: Doc[] = [];
  if (operations.length > 0) changePipeline.push({ $match: { operationType: { $in: operations } } });
  if (isNonEmpty(config.match)) changePipeline.push({ $match: config.match });
  if (isNonEmpty(config.project)) changePipeline.push({ $project: config.project });
  const sourceConfig: Doc = {};
  if (config.full_document === true) sourceConfig.fullDocument = "updateLookup";
  if (config.full_document_before_change === true) sourceConfig.fullDocumentBeforeChange = "whenAvailable";
  if (changePipeline.length > 0) sourceConfig.pipeline = changePipeline;
  const source: Doc = { connectionName: service };
  if (db !== undefined) source.db = db;
  if (coll !== undefined) source.coll = coll;
  if (Object.keys(sourceConfig).length > 0) source.config = sourceConfig;
  if (config.tolerate_resume_errors === true)
    notes.push(
      "tolerate_resume_errors: Eddy never skips events silently; if the resume token has left the oplog the processor fails and you restart it without its checkpoint (`sp processors restart NAME --no-resume`), then run `sp validate` to find what was missed.",
    );
  if (config.unordered === true)
    notes.push(
      "unordered: Eddy keeps change-stream order per processor; throughput comes from batching instead.",
    );
  if (analysis) for (const caution of analysis.cautions) notes.push(`The function ${caution}.`);
  if (func)
    notes.push(
      `The function body is code Eddy does not run: compare ${func.file} with the processor and move any logic it has beyond the mapping into stages.`,
    );
  return {
    trigger,
    func,
    status: sink.review || (analysis?.cautions.length ?? 0) > 0 ? "needs-review" : "converted",
    processor: { name: processorName(trigger.name), pipeline: [{ $source: source }, ...sink.stages] },
    replacement: sink.description,
    notes,
  };
}

interface SinkChoice {
  readonly stages: Doc[];
  readonly description: string;
  readonly review: boolean;
  readonly dropDeletes?: boolean;
}

function chooseSink(
  trigger: ExportedTrigger,
  analysis: FunctionAnalysis | undefined,
  context: BuildContext,
  operations: readonly string[],
  notes: string[],
): SinkChoice {
  const http = analysis?.httpCalls.find((call) => call.url !== undefined);
  const mapping = analysis?.fieldMapping ?? new Map<string, string>();
  if (http?.url && context.options.postgres !== undefined && mapping.size > 0)
    return postgresSink(http.url, mapping, context, operations, notes);
  if (http?.url) {
    const url = new URL(http.url);
    const stages: Doc[] = [];
    if (mapping.size > 0) stages.push({ $replaceWith: fieldsOf(mapping) });
    stages.push({
      $https: {
        connectionName: context.https(http.url),
        path: url.pathname + url.search,
        method: http.method,
      },
    });
    return {
      stages,
      description: `POSTs ${mapping.size > 0 ? "the row the function built" : "each change event"} to ${url.origin}${url.pathname} (terminal $https)`,
      review: false,
    };
  }
  const write = analysis?.collectionWrites[0];
  if (write) {
    const replaces = /update|replace/i.test(write.operation);
    const stages: Doc[] = [];
    if (replaces)
      stages.push({
        $replaceWith: mapping.size > 0 ? { _id: "$fullDocument._id", ...fieldsOf(mapping) } : "$fullDocument",
      });
    stages.push({
      $merge: {
        into: { connectionName: context.cluster(DEFAULT_SERVICE), db: write.db, coll: write.coll },
        whenMatched: replaces ? "replace" : "keepExisting",
        whenNotMatched: "insert",
      },
    });
    return {
      stages,
      description: replaces
        ? `keeps ${write.db}.${write.coll} up to date with the changed documents ($merge, replace)`
        : `writes each change event once to ${write.db}.${write.coll} ($merge keyed by the event id, so replays do not duplicate)`,
      review: false,
    };
  }
  if (!context.connections.has(FUNCTIONS_CONNECTION))
    context.connections.set(FUNCTIONS_CONNECTION, {
      name: FUNCTIONS_CONNECTION,
      type: "Https",
      config: { url: "{{FUNCTIONS_BASE_URL}}" },
    });
  notes.push(
    "No HTTP call or collection write was recognised in the function: the processor POSTs each change event to {{FUNCTIONS_BASE_URL}}/<function>; deploy the function's logic there or replace the sink.",
  );
  return {
    stages: [
      {
        $https: {
          connectionName: FUNCTIONS_CONNECTION,
          path: `/${trigger.functionName ?? trigger.name}`,
          method: "POST",
        },
      },
    ],
    description:
      "POSTs each change event to the endpoint that now runs the function's logic (terminal $https)",
    review: true,
  };
}

function postgresSink(
  url: string,
  mapping: ReadonlyMap<string, string>,
  context: BuildContext,
  operations: readonly string[],
  notes: string[],
): SinkChoice {
  if (!context.connections.has(WAREHOUSE_CONNECTION))
    context.connections.set(WAREHOUSE_CONNECTION, {
      name: WAREHOUSE_CONNECTION,
      type: "PostgreSQL",
      config: { connectionString: context.options.postgres },
    });
  const segments = new URL(url).pathname.split("/").filter((s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s));
  const table = segments.at(-1) ?? "events";
  const columns = [...mapping.keys()];
  const key = columns.find((c) => /(^|_)id$/i.test(c)) ?? columns[0];
  const keyFromId = mapping.get(key) === "_id";
  const emitColumns: Doc = {};
  for (const [column, path] of mapping)
    emitColumns[column] =
      column === key && keyFromId
        ? { $ifNull: ["$fullDocument._id", "$documentKey._id"] }
        : `fullDocument.${path}`;
  const config: Doc = {};
  let dropDeletes = false;
  if (operations.includes("delete")) {
    if (keyFromId) config.deleteWhen = { $eq: ["$operationType", "delete"] };
    else {
      dropDeletes = true;
      notes.push(
        `Delete events carry only documentKey, and the key column '${key}' is not the document _id: deletes are left out; map the key to _id to delete rows.`,
      );
    }
  }
  notes.push(
    `The warehouse rows go straight to PostgreSQL table '${table}' (from the URL ${url}), upserted on '${key}': check the table name, the key and the column types against the warehouse schema.`,
  );
  const emit: Doc = {
    connectionName: WAREHOUSE_CONNECTION,
    table,
    conflictColumns: [key],
    columns: emitColumns,
  };
  if (Object.keys(config).length > 0) emit.config = config;
  return {
    stages: [{ $emit: emit }],
    description: `upserts the row the function built into PostgreSQL table '${table}' in batches, exactly once ($emit)`,
    review: false,
    dropDeletes,
  };
}

/**
 * A scheduled trigger becomes a Scheduled `$source` (an Eddy extension) running the function's query on the
 * trigger's schedule, followed by the sink chosen as for a database trigger. The query is read from the
 * function as far as patterns allow: literal fields are kept, a field compared with a time computed at run
 * time ("modified in the last hour") is compared with the last completed run instead (`$$lastFiredAt`).
 */
function convertScheduledTrigger(
  trigger: ExportedTrigger,
  func: ExportedFunction | undefined,
  context: BuildContext,
  notes: string[],
): ConvertedTrigger {
  const schedule = typeof trigger.config.schedule === "string" ? trigger.config.schedule : undefined;
  const analysis = func ? analyseFunction(func.source) : undefined;
  const query = analysis?.collectionQueries[0];
  if (schedule === undefined || !query)
    return notConvertible(
      trigger,
      func,
      notes,
      schedule === undefined
        ? "Scheduled trigger without a schedule in its config: nothing to convert."
        : `Scheduled trigger (${schedule}): no \`find\` on a collection was recognised in the function, so there is no query to schedule; write a Scheduled $source (docs/connectors.md) with the sweep's query.`,
    );
  const service = `${DEFAULT_SERVICE}-scheduled`;
  if (!context.connections.has(service))
    context.connections.set(service, {
      name: service,
      type: "Scheduled",
      config: { uri: context.options.mongodbUri ?? "{{MONGODB_URI}}" },
    });
  const filter: Doc = { ...query.literals };
  for (const field of query.sinceFields) filter[field] = { $gte: "$$lastFiredAt" };
  const source: Doc = { connectionName: service, schedule, db: query.db, coll: query.coll, filter };
  if (query.limit !== undefined) source.batchSize = query.limit;
  notes.push(
    `The sweep runs on the same schedule (UTC) as a Scheduled $source, an Eddy extension that \`sp lint --atlas\` rejects; its filter ${JSON.stringify(filter)} was read from the function: check it against the query in ${func?.file}.`,
  );
  if (query.sinceFields.length > 0)
    notes.push(
      `${query.sinceFields.join(", ")}: the function compared with a time computed when it ran; the processor compares with the last completed run ($$lastFiredAt), so a run missed while it was down leaves no gap.`,
    );
  if (query.limit !== undefined)
    notes.push(
      `The function took at most ${query.limit} documents per run; the processor hands over every match, ${query.limit} per batch.`,
    );
  const writesBack = analysis?.collectionWrites.some((w) => w.db === query.db && w.coll === query.coll);
  if (writesBack)
    notes.push(
      `The function marks what it handled in ${query.db}.${query.coll}; the processor does not write back to the collection it sweeps (its checkpoint remembers the last run): add a $merge processor if other systems read that flag.`,
    );
  // `{_id: doc._id}` alone is the key of that write-back, not a row the function builds.
  const onlyKey = analysis?.fieldMapping.size === 1 && analysis.fieldMapping.get("_id") === "_id";
  const sinkAnalysis: FunctionAnalysis | undefined = analysis && {
    ...analysis,
    collectionWrites: analysis.collectionWrites.filter((w) => w.db !== query.db || w.coll !== query.coll),
    fieldMapping: onlyKey ? new Map() : analysis.fieldMapping,
  };
  const sink = chooseSink(trigger, sinkAnalysis, context, [], notes);
  // The sinks are written for change events; a swept document takes the place of the event's fullDocument.
  const asEvent = JSON.stringify(sink.stages).includes("fullDocument")
    ? [{ $replaceWith: { fullDocument: "$$ROOT", documentKey: { _id: "$_id" } } }]
    : [];
  if (analysis) for (const caution of analysis.cautions) notes.push(`The function ${caution}.`);
  return {
    trigger,
    func,
    status: "needs-review",
    processor: {
      name: processorName(trigger.name),
      pipeline: [{ $source: source }, ...asEvent, ...sink.stages],
    },
    replacement: `runs the function's query on schedule ${schedule} and ${sink.description.replace(/each change event/, "each document found")}`,
    notes,
  };
}

/** A trigger the conversion keeps as it is, with why and what to do instead as its last note. */
function notConvertible(
  trigger: ConvertedTrigger["trigger"],
  func: ConvertedTrigger["func"],
  notes: readonly string[],
  reason: string,
): ConvertedTrigger {
  return { trigger, func, status: "not-convertible", replacement: "none", notes: [...notes, reason] };
}

/** `{order_id: "$fullDocument.orderId", …}`. */
function fieldsOf(mapping: ReadonlyMap<string, string>): Doc {
  const out: Doc = {};
  for (const [name, path] of mapping) out[name] = `$fullDocument.${path}`;
  return out;
}

/** Processor names: letters, digits, `_` and `-`. */
export function processorName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "_");
}

function isNonEmpty(value: unknown): value is Doc {
  return (
    value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0
  );
}
