/**
 * A `PostgreSQL` connection (an Eddy extension): `config.connectionString` (also `uri`/`url`), e.g.
 * `"postgres://eddy:{{PG_PASSWORD}}@db:5432/warehouse"`, or `host`, `port`, `user`, `password`, `database`,
 * and `ssl` (true, or node's TLS options).
 */
import pg from "pg";
import type { Doc } from "../../mql/index.ts";
import { UnavailableConnectorError } from "../errors.ts";

export function postgresClientConfig(connectionName: string, settings: Doc): pg.ClientConfig {
  const connectionString = settings.connectionString ?? settings.uri ?? settings.url;
  const config: pg.ClientConfig = { application_name: "eddy", connectionTimeoutMillis: 30_000 };
  if (typeof connectionString === "string" && connectionString !== "") {
    config.connectionString = connectionString;
  } else if (typeof settings.host === "string" && settings.host !== "") {
    config.host = settings.host;
    if (typeof settings.port === "number") config.port = settings.port;
    if (typeof settings.user === "string") config.user = settings.user;
    if (typeof settings.password === "string") config.password = settings.password;
    if (typeof settings.database === "string") config.database = settings.database;
  } else {
    throw new UnavailableConnectorError(
      `connection '${connectionName}' needs config.connectionString, e.g. "postgres://user:{{PG_PASSWORD}}@host:5432/db"`,
    );
  }
  if (settings.ssl === true || (settings.ssl !== null && typeof settings.ssl === "object"))
    config.ssl = settings.ssl as pg.ClientConfig["ssl"];
  return config;
}

/** A connected client; connection failures surface as the caller's ConnectorError. */
export async function connectPostgres(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  // An idle connection that drops emits 'error'; the next query fails and reports it.
  client.on("error", () => undefined);
  await client.connect();
  return client;
}
