/**
 * PostgreSQL (an Eddy extension): a connection to a PostgreSQL database and the `$emit` form that upserts
 * into one of its tables, exactly once (see emit-form.ts and upsert-sink.ts).
 */
import type { Doc } from "../../mql/index.ts";
import type { ConnectionSettings, SettingProblem } from "../../pipeline/connector-specs.ts";
import { TwoPhaseCheckpoints } from "../../runtime/index.ts";
import { defineConnector } from "../spec.ts";
import { requireStringSetting } from "../setting-checks.ts";
import { planPostgresEmit, POSTGRES_EMIT_FIELDS, postgresEmitSettings } from "./emit-form.ts";

export const postgresql = defineConnector<never, Doc>({
  type: "PostgreSQL",
  aliases: ["postgresql", "postgres"],
  description: "A PostgreSQL database: `$emit` upserts into a table in batches, exactly once.",
  connection: {
    properties: {
      connectionString: { type: "string", description: "postgres://user:{{PG_PASSWORD}}@host:5432/db" },
      host: { type: "string" },
      port: { type: "integer" },
      user: { type: "string" },
      password: { type: "string" },
      database: { type: "string" },
      ssl: { description: "true, or node's TLS options" },
    },
  },
  checkConnection: checkPostgres,
  emit: {
    operatorName: "PostgresEmitOperator",
    fields: {
      properties: Object.fromEntries(POSTGRES_EMIT_FIELDS.map((field) => [field, {}])),
      required: ["table", "conflictColumns", "columns"],
    },
    plan: planPostgresEmit,
  },
  async openSink(sink, ctx) {
    const [{ PostgresUpsertSink }, { postgresClientConfig }] = await Promise.all([
      import("./upsert-sink.ts"),
      import("./connection.ts"),
    ]);
    return new PostgresUpsertSink(sink as never, {
      processorName: ctx.plan.name,
      clientConfig: postgresClientConfig(sink.connectionName, ctx.settings),
    });
  },
  async openCheckpoints(sink, plan, settings, slots) {
    const [{ fenceAndReadPostgresMarker }, { postgresClientConfig }] = await Promise.all([
      import("./upsert-sink.ts"),
      import("./connection.ts"),
    ]);
    const config = postgresClientConfig(sink.connectionName, settings);
    const { offsetsTable } = postgresEmitSettings(sink.options);
    return new TwoPhaseCheckpoints([slots(0), slots(1)], () =>
      fenceAndReadPostgresMarker(config, offsetsTable, plan.name),
    );
  },
});

function checkPostgres(connection: ConnectionSettings): SettingProblem[] {
  const { settings } = connection;
  if (typeof settings.host === "string" || settings.uri !== undefined || settings.url !== undefined)
    return [];
  return requireStringSetting(
    connection,
    "connectionString",
    'a PostgreSQL connection needs connectionString (e.g. "postgres://eddy:{{PG_PASSWORD}}@db:5432/warehouse")',
    { pattern: /^postgres(ql)?:\/\//, text: "a postgres:// or postgresql:// URI" },
  );
}
