/**
 * The PostgreSQL `$emit` form (an Eddy extension): upserts into a table, in batches, exactly once.
 *
 *   {$emit: {connectionName: "warehouse", table: "bi.orders", conflictColumns: ["order_id"],
 *            columns: {order_id: "fullDocument.orderId", total: {$toDecimal: "$fullDocument.total"}},
 *            types: {order_id: "text", total: "numeric(12,2)"},
 *            config: {batchSize: 1000, batchIntervalMs: 5000, deleteWhen: {$eq: ["$operationType", "delete"]},
 *                     createTable: false, offsetsTable: "eddy_offsets"}}}
 *
 * A column's value is a document field (`"total"` or `"$total"`) or any expression. Planning checks the
 * names and compiles the expressions; nothing here does I/O.
 */
import { isPlainObject } from "../../mql/bson-types.ts";
import { compileExpression, type Doc, type Evaluator } from "../../mql/index.ts";
import { compileAt, type PlanContext } from "../../pipeline/context.ts";
import type { Spec } from "../../pipeline/spec.ts";
import { isIdentifier, isTableName, isTypeName } from "./identifiers.ts";
import { DEFAULT_OFFSETS_TABLE } from "./offsets.ts";

export const POSTGRES_EMIT_FIELDS = [
  "connectionName",
  "table",
  "conflictColumns",
  "columns",
  "types",
  "config",
] as const;
const CONFIG_FIELDS = [
  "batchSize",
  "batchIntervalMs",
  "deleteWhen",
  "createTable",
  "offsetsTable",
  "maxRetries",
];

export const DEFAULT_BATCH_SIZE = 1_000;
export const DEFAULT_BATCH_INTERVAL_MS = 5_000;
/** Attempts of a statement that failed transiently, before its rows are dead-lettered one by one. */
export const DEFAULT_MAX_RETRIES = 3;

/** The validated options, with defaults applied. */
export interface PostgresEmitSettings {
  readonly table: string;
  readonly columns: readonly string[];
  readonly conflictColumns: readonly string[];
  readonly types: Readonly<Record<string, string>>;
  readonly batchSize: number;
  readonly batchIntervalMs: number;
  readonly createTable: boolean;
  readonly offsetsTable: string;
  readonly maxRetries: number;
}

/** Checks the form and compiles `columns.<name>` and `config.deleteWhen` into `evaluators`. */
export function planPostgresEmit(
  spec: Spec,
  ctx: PlanContext,
  evaluators: Record<string, Evaluator>,
): Doc | undefined {
  const table = spec.string("table", true);
  if (table !== undefined && !isTableName(table))
    spec.error("table", `table must be a table name like "orders" or "bi.orders", got '${table}'`);
  const columns = spec.doc("columns", true);
  const names = Object.keys(columns ?? {});
  if (columns && names.length === 0) spec.error("columns", "columns must map at least one column to a field");
  for (const [name, source] of Object.entries(columns ?? {})) {
    const path = `${spec.fieldPath("columns")}.${name}`;
    if (!isIdentifier(name)) {
      ctx.issues.add(path, `'${name}' is not a valid column name (letters, digits and _)`);
      continue;
    }
    if (typeof source !== "string" && !isPlainObject(source)) {
      ctx.issues.add(path, `a column takes a field name ("total"), a "$path" or an expression object`);
      continue;
    }
    const expression = typeof source === "string" && !source.startsWith("$") ? `$${source}` : source;
    const evaluate = compileAt(ctx, path, () => compileExpression(expression, { path }));
    if (evaluate) evaluators[`columns.${name}`] = evaluate;
  }
  const conflict = spec.stringOrStrings("conflictColumns", true);
  const conflictColumns = typeof conflict === "string" ? [conflict] : (conflict ?? []);
  if (conflict !== undefined && conflictColumns.length === 0)
    spec.error("conflictColumns", "conflictColumns needs at least one column (the table's key)");
  for (const column of conflictColumns) {
    if (columns && !names.includes(column))
      spec.error("conflictColumns", `conflict column '${column}' must also be one of columns`);
  }
  const types = spec.doc("types");
  for (const [name, type] of Object.entries(types ?? {})) {
    const path = `${spec.fieldPath("types")}.${name}`;
    if (columns && !names.includes(name)) ctx.issues.add(path, `'${name}' is not one of columns`);
    else if (typeof type !== "string" || !isTypeName(type))
      ctx.issues.add(path, `expected a PostgreSQL type name such as "text" or "numeric(12,2)"`);
  }
  const config = spec.object("config", CONFIG_FIELDS);
  if (!config) return spec.hasIssuesSinceOpen() ? undefined : spec.value;
  for (const field of ["batchSize", "batchIntervalMs", "maxRetries"]) {
    const n = config.int(field);
    if (n !== undefined && n < 1) config.error(field, `${field} must be at least 1, got ${n}`);
  }
  if (config.bool("createTable") === true && names.some((name) => types?.[name] === undefined))
    config.error("createTable", "createTable needs a type in types for every column");
  const offsets = config.string("offsetsTable");
  if (offsets !== undefined && !isTableName(offsets))
    config.error("offsetsTable", `offsetsTable must be a table name, got '${offsets}'`);
  if (config.has("deleteWhen")) {
    const path = config.fieldPath("deleteWhen");
    const evaluate = compileAt(ctx, path, () => compileExpression(config.raw("deleteWhen"), { path }));
    if (evaluate) evaluators["config.deleteWhen"] = evaluate;
  }
  return spec.hasIssuesSinceOpen() ? undefined : spec.value;
}

/** The settings of a form that `planPostgresEmit` accepted. */
export function postgresEmitSettings(options: Doc): PostgresEmitSettings {
  const config = (options.config as Doc | undefined) ?? {};
  const conflict = options.conflictColumns as string | string[];
  return {
    table: options.table as string,
    columns: Object.keys(options.columns as Doc),
    conflictColumns: typeof conflict === "string" ? [conflict] : conflict,
    types: (options.types as Record<string, string> | undefined) ?? {},
    batchSize: (config.batchSize as number | undefined) ?? DEFAULT_BATCH_SIZE,
    batchIntervalMs: (config.batchIntervalMs as number | undefined) ?? DEFAULT_BATCH_INTERVAL_MS,
    createTable: config.createTable === true,
    offsetsTable: (config.offsetsTable as string | undefined) ?? DEFAULT_OFFSETS_TABLE,
    maxRetries: (config.maxRetries as number | undefined) ?? DEFAULT_MAX_RETRIES,
  };
}
