/**
 * One side of a validation: `CONN.db.coll` on a Cluster connection (documents keyed by `_id`) or
 * `CONN.schema.table` / `CONN.table` on a PostgreSQL connection (rows keyed by `--key` columns).
 */
import { MongoClient, ObjectId } from "mongodb";
import pg from "pg";
import type { Doc } from "../../mql/index.ts";
import type { ConnectionCatalog } from "../../pipeline/plan.ts";
import { connectPostgres, postgresClientConfig } from "../../connectors/postgresql/connection.ts";
import { isTableName, quoteIdentifier, quoteTable } from "../../connectors/postgresql/identifiers.ts";

export interface SideReader {
  readonly label: string;
  /** Documents in scope (all, or those since `since` when the side can tell). */
  keys(options: { sample?: number; since?: Date; timeField?: string }): Promise<unknown[]>;
  /** The documents with these keys, by key text. */
  fetch(keys: readonly unknown[]): Promise<Map<string, Doc>>;
  keyOf(doc: Doc): unknown;
  close(): Promise<void>;
}

export class SideError extends Error {
  override readonly name = "SideError";
}

/** Text that identifies a key across both sides (an ObjectId and its hex string are different keys). */
export function keyText(key: unknown): string {
  if (key instanceof ObjectId) return `oid:${key.toHexString()}`;
  if (key instanceof Date) return `date:${key.toISOString()}`;
  return JSON.stringify(key);
}

export function openSide(spec: string, catalog: ConnectionCatalog, key: string): SideReader {
  const [connectionName, ...rest] = spec.split(".");
  const entry = catalog.get(connectionName);
  if (!entry)
    throw new SideError(
      `unknown connection '${connectionName}' in '${spec}'; define it in the --connections file`,
    );
  const settings = { ...entry, ...(entry.config ?? {}) } as Doc;
  if (entry.type === "Cluster") {
    if (rest.length < 2) throw new SideError(`'${spec}' must be CONNECTION.db.collection`);
    if (typeof settings.uri !== "string")
      throw new SideError(`connection '${connectionName}' needs config.uri`);
    return new MongoSide(spec, settings.uri, rest[0], rest.slice(1).join("."), key);
  }
  if (entry.type === "PostgreSQL") {
    const table = rest.join(".");
    if (!isTableName(table))
      throw new SideError(`'${spec}' must be CONNECTION.table or CONNECTION.schema.table`);
    return new PostgresSide(spec, postgresClientConfig(connectionName, settings), table, key);
  }
  throw new SideError(
    `connection '${connectionName}' is of type ${entry.type}; validate reads Cluster and PostgreSQL connections`,
  );
}

class MongoSide implements SideReader {
  readonly label: string;
  private readonly client: MongoClient;
  private readonly db: string;
  private readonly coll: string;
  private readonly key: string;

  constructor(label: string, uri: string, db: string, coll: string, key: string) {
    this.label = label;
    this.client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000, appName: "eddy-validate" });
    this.db = db;
    this.coll = coll;
    this.key = key;
  }

  private get collection() {
    return this.client.db(this.db).collection(this.coll);
  }

  async keys(options: { sample?: number; since?: Date; timeField?: string }): Promise<unknown[]> {
    const filter: Doc = {};
    if (options.since) {
      if (options.timeField) filter[options.timeField] = { $gte: options.since };
      else filter._id = { $gte: ObjectId.createFromTime(Math.floor(options.since.getTime() / 1000)) };
    }
    const pipeline: Doc[] = [{ $match: filter }];
    if (options.sample !== undefined) pipeline.push({ $sample: { size: options.sample } });
    pipeline.push({ $project: { _id: 0, k: `$${this.key}` } });
    const rows = await this.collection.aggregate(pipeline).toArray();
    return rows.map((row) => row.k);
  }

  async fetch(keys: readonly unknown[]): Promise<Map<string, Doc>> {
    const out = new Map<string, Doc>();
    for (let i = 0; i < keys.length; i += 1000) {
      const docs = await this.collection.find({ [this.key]: { $in: keys.slice(i, i + 1000) } }).toArray();
      for (const doc of docs) out.set(keyText(doc[this.key]), doc as Doc);
    }
    return out;
  }

  keyOf(doc: Doc): unknown {
    return doc[this.key];
  }

  async writeDiscrepancies(records: readonly Doc[]): Promise<string> {
    if (records.length > 0)
      await this.client
        .db(this.db)
        .collection("validation_discrepancies")
        .insertMany(records.map((r) => ({ ...r })));
    return `${this.db}.validation_discrepancies`;
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** numeric and bigint arrive as text from `pg`; the comparison wants numbers. */
const NUMBER_TYPES = {
  getTypeParser: (oid: number, format?: string) =>
    oid === 1700 || oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text"),
};

class PostgresSide implements SideReader {
  readonly label: string;
  private readonly config: pg.ClientConfig;
  private readonly table: string;
  private readonly key: string;
  private client: Promise<pg.Client> | undefined;

  constructor(label: string, config: pg.ClientConfig, table: string, key: string) {
    this.label = label;
    this.config = { ...config, types: NUMBER_TYPES as pg.ClientConfig["types"] };
    this.table = table;
    this.key = key;
  }

  private connection(): Promise<pg.Client> {
    this.client ??= connectPostgres(this.config);
    return this.client;
  }

  async keys(options: { sample?: number; since?: Date; timeField?: string }): Promise<unknown[]> {
    const client = await this.connection();
    const params: unknown[] = [];
    let where = "";
    if (options.since && options.timeField) {
      params.push(options.since);
      where = ` WHERE ${quoteIdentifier(options.timeField)} >= $1`;
    }
    const limit =
      options.sample === undefined ? "" : ` ORDER BY random() LIMIT ${Math.floor(options.sample)}`;
    const { rows } = await client.query(
      `SELECT ${quoteIdentifier(this.key)} AS k FROM ${quoteTable(this.table)}${where}${limit}`,
      params,
    );
    return rows.map((row: Doc) => row.k);
  }

  async fetch(keys: readonly unknown[]): Promise<Map<string, Doc>> {
    const client = await this.connection();
    const out = new Map<string, Doc>();
    for (let i = 0; i < keys.length; i += 1000) {
      const { rows } = await client.query(
        `SELECT * FROM ${quoteTable(this.table)} WHERE ${quoteIdentifier(this.key)} = ANY($1)`,
        [keys.slice(i, i + 1000).map((k) => (k instanceof ObjectId ? k.toHexString() : k))],
      );
      for (const row of rows as Doc[]) out.set(keyText(row[this.key]), row);
    }
    return out;
  }

  keyOf(doc: Doc): unknown {
    return doc[this.key];
  }

  async writeDiscrepancies(records: readonly Doc[]): Promise<string> {
    const client = await this.connection();
    await client.query(
      `CREATE TABLE IF NOT EXISTS validation_discrepancies (id bigserial PRIMARY KEY, run_id text NOT NULL, ` +
        `at timestamptz NOT NULL, key text, kind text NOT NULL, field text, left_value text, right_value text)`,
    );
    for (let i = 0; i < records.length; i += 500) {
      const chunk = records.slice(i, i + 500);
      const values: unknown[] = [];
      const tuples = chunk.map((r, n) => {
        values.push(r.runId, r.at, keyText(r.key), r.kind, r.field ?? null, text(r.left), text(r.right));
        const b = n * 7;
        return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7})`;
      });
      await client.query(
        `INSERT INTO validation_discrepancies (run_id, at, key, kind, field, left_value, right_value) VALUES ${tuples.join(", ")}`,
        values,
      );
    }
    return "validation_discrepancies (table)";
  }

  async close(): Promise<void> {
    const client = await this.client?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }
}

function text(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** Sides that can store the discrepancies of a run. */
export interface DiscrepancyStore {
  writeDiscrepancies(records: readonly Doc[]): Promise<string>;
}

export function isDiscrepancyStore(side: SideReader): side is SideReader & DiscrepancyStore {
  return typeof (side as Partial<DiscrepancyStore>).writeDiscrepancies === "function";
}
