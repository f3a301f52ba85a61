/**
 * PostgreSQL `$emit` (an Eddy extension, see spec.ts): each batch becomes multi-row
 * `INSERT … ON CONFLICT DO UPDATE` statements (and `DELETE`s for `config.deleteWhen`) inside one open
 * transaction. The transaction commits at the processor's checkpoint, together with the checkpoint's
 * marker and positions in the offsets table, so after a crash PostgreSQL holds exactly the output of the
 * checkpoint the processor resumes from: nothing lost, nothing applied twice. The runtime checkpoints when
 * `batchSize` rows are pending or the transaction is `batchIntervalMs` old (`commitDue`).
 *
 * Round trips per batch are what the sink costs: the rows of a batch are computed (`prepare`) while the
 * previous batch's statement is in flight, and while rows keep coming the commit begins the next
 * transaction in its own round trip (`DO … ; COMMIT; BEGIN`), so a steady stream sends one statement per
 * 1,000 rows and one commit per checkpoint, nothing else.
 *
 * Statements run without savepoints (two round trips each, more than the statement itself costs), and
 * the sink keeps the rows written in the open transaction. When a statement fails for its rows — a row
 * PostgreSQL rejects (class 22 data exceptions, class 23 constraints), or a transient failure (deadlock,
 * serialization, lock timeout) — the aborted transaction is rolled back, begun again and the kept rows
 * written again, and then the failed statement is halved under savepoints until the rejected rows are
 * found: they go to the DLQ, the rest is written. Transient failures are retried `maxRetries` times in
 * all; a row that still fails is dead-lettered with its `attempts`. A lost connection loses the open
 * transaction, so it fails the run (retryable): the processor restarts from its last checkpoint.
 */
import { EJSON } from "bson";
import type pg from "pg";
import type { Doc, Evaluator, Vars } from "../../mql/index.ts";
import type { SinkPlan } from "../../pipeline/plan.ts";
import { ConnectorError } from "../../runtime/errors.ts";
import type { Sink, SinkFailure, SinkResult } from "../../runtime/sink.ts";
import { messageOf } from "../retry.ts";
import { connectPostgres } from "./connection.ts";
import { isRowError, isTransientStatementError, postgresFailure, sqlState } from "./errors.ts";
import { OffsetsTable } from "./offsets.ts";
import { postgresEmitSettings, type PostgresEmitSettings } from "./emit-form.ts";
import { rowsPerStatement, Statements } from "./statements.ts";
import { toParameter, type ParameterValue } from "./values.ts";

export type PostgresEmitPlan = Extract<SinkPlan, { kind: "emit" }>;

export interface PostgresUpsertSinkOptions {
  /** The offsets table's key: the processor's name. */
  readonly processorName: string;
  readonly clientConfig: pg.ClientConfig;
  /** Wait before retrying a transiently failed statement (doubles each attempt; default 100 ms). */
  readonly retryDelayMs?: number;
  readonly now?: () => number;
}

/** One document as a row: parameter values in column order (key columns only for a delete). */
interface Row {
  readonly index: number;
  readonly values: ParameterValue[];
  readonly remove: boolean;
}

/** A batch as rows: what `write` sends, and the documents that could not become rows. */
interface Prepared {
  readonly upserts: Row[];
  readonly deletes: Row[];
  readonly failures: readonly SinkFailure[];
  /** The rows' parameter bytes (`outputMessageSize`). */
  readonly bytes: number;
}

const NO_VARS: Vars = Object.freeze({});
const SAVEPOINT = "eddy_rows";

export class PostgresUpsertSink implements Sink {
  readonly operatorName = "PostgresEmitOperator";
  readonly commit: (marker: number, positions?: Doc) => Promise<void>;
  private readonly settings: PostgresEmitSettings;
  private readonly options: PostgresUpsertSinkOptions;
  private readonly columns: ReadonlyArray<readonly [string, Evaluator]>;
  private readonly deleteWhen: Evaluator | undefined;
  private readonly keyIndexes: readonly number[];
  private readonly statements: Statements;
  private readonly offsets: OffsetsTable;
  private readonly maxRows: number;
  private readonly now: () => number;
  private client: Promise<{ client: pg.Client; epoch: string }> | undefined;
  /** A transaction is open on the connection (`BEGIN` sent, not yet committed or rolled back). */
  private inTransaction = false;
  /** When the open transaction got its first rows (undefined while it holds none). */
  private transactionOpenedAt: number | undefined;
  private pendingRows = 0;
  /** Batches `prepare` turned into rows ahead of their `write`. */
  private readonly prepared = new WeakMap<readonly Doc[], Prepared>();
  /** The statements written in the open transaction, to write again after a failed one aborted it. */
  private written: Row[][] = [];

  constructor(plan: PostgresEmitPlan, options: PostgresUpsertSinkOptions) {
    this.settings = postgresEmitSettings(plan.options as Doc);
    this.options = options;
    this.now = options.now ?? Date.now;
    const evaluators = plan.evaluators ?? {};
    this.columns = this.settings.columns.map((column) => {
      const evaluate = evaluators[`columns.${column}`];
      if (!evaluate) throw new Error(`${plan.path}: column '${column}' has no compiled expression`);
      return [column, evaluate] as const;
    });
    this.deleteWhen = evaluators["config.deleteWhen"];
    this.keyIndexes = this.settings.conflictColumns.map((column) => this.settings.columns.indexOf(column));
    this.statements = new Statements(this.settings);
    this.offsets = new OffsetsTable(this.settings.offsetsTable, options.processorName);
    this.maxRows = rowsPerStatement(this.settings, this.settings.batchSize);
    this.commit = (marker, positions) => this.commitTransaction(marker, positions ?? {});
    // Connecting (and fencing earlier runs) while the source starts, not on the first batch's clock.
    void this.connection().catch(() => undefined);
  }

  /** True when the open transaction holds `batchSize` rows or is `batchIntervalMs` old. */
  commitDue(): boolean {
    if (this.transactionOpenedAt === undefined) return false;
    return (
      this.pendingRows >= this.settings.batchSize ||
      this.now() - this.transactionOpenedAt >= this.settings.batchIntervalMs
    );
  }

  /**
   * The rows of a batch (column expressions, conflict-key dedupe), computed while the previous batch's
   * statement is still in flight: `write` then only sends them.
   */
  prepare(docs: readonly Doc[]): void {
    this.prepared.set(docs, this.toRows(docs));
  }

  async write(docs: readonly Doc[]): Promise<SinkResult> {
    const { upserts, deletes, failures: rejected, bytes } = this.prepared.get(docs) ?? this.toRows(docs);
    this.prepared.delete(docs);
    const failures = [...rejected];
    const rows = upserts.length + deletes.length;
    if (rows === 0) return failures.length > 0 ? { bytes: 0, failures } : { bytes: 0 };
    const { client } = await this.connection();
    try {
      if (!this.inTransaction) {
        await client.query("BEGIN");
        this.inTransaction = true;
      }
      this.transactionOpenedAt ??= this.now();
      for (let i = 0; i < deletes.length; i += this.maxRows)
        await this.run(client, deletes.slice(i, i + this.maxRows), failures);
      for (let i = 0; i < upserts.length; i += this.maxRows)
        await this.run(client, upserts.slice(i, i + this.maxRows), failures);
    } catch (error) {
      throw this.lost(error, `PostgreSQL $emit to ${this.settings.table} failed`);
    }
    this.pendingRows += rows;
    return failures.length > 0 ? { bytes, failures } : { bytes };
  }

  async close(): Promise<void> {
    const opened = this.client;
    this.client = undefined;
    if (!opened) return;
    const connection = await opened.catch(() => undefined);
    if (!connection) return;
    // Output that was never committed must not become visible: the next run writes it again.
    if (this.inTransaction) await connection.client.query("ROLLBACK").catch(() => undefined);
    this.inTransaction = false;
    this.transactionOpenedAt = undefined;
    this.written = [];
    await connection.client.end().catch(() => undefined);
  }

  /**
   * Rows by conflict key, the last document of the batch winning (one statement may not touch a row
   * twice), split into upserts and deletes, with the documents that could not become rows.
   */
  private toRows(docs: readonly Doc[]): Prepared {
    const byKey = new Map<unknown, Row>();
    const failures: SinkFailure[] = [];
    const columns = this.columns;
    const keyIndexes = this.keyIndexes;
    for (let index = 0; index < docs.length; index++) {
      const doc = docs[index];
      const vars = doc._stream_meta === undefined ? NO_VARS : { $stream: doc._stream_meta };
      try {
        const remove = this.deleteWhen ? this.deleteWhen(doc, vars) === true : false;
        const values = new Array<ParameterValue>(columns.length);
        for (let c = 0; c < columns.length; c++) values[c] = toParameter(columns[c][1](doc, vars));
        const key = keyIndexes.map((i) => values[i]);
        if (key.some((value) => value === null))
          throw new Error(
            `conflict columns ${this.settings.conflictColumns.join(", ")} must not be null or missing`,
          );
        const keyOf = keyIdentity(key);
        byKey.delete(keyOf); // re-inserted last, so the map keeps document order
        byKey.set(keyOf, { index, values: remove ? key : values, remove });
      } catch (error) {
        failures.push({ index, message: messageOf(error) });
      }
    }
    const upserts: Row[] = [];
    const deletes: Row[] = [];
    let bytes = 0;
    for (const row of byKey.values()) {
      (row.remove ? deletes : upserts).push(row);
      for (const value of row.values) bytes += sizeOf(value);
    }
    return { upserts, deletes, failures, bytes };
  }

  /**
   * Runs one statement for `rows`, without a savepoint. If it fails for its rows, the transaction is
   * rolled back and rebuilt from the rows kept in `written`, and `apply` isolates what failed.
   */
  private async run(client: pg.Client, rows: Row[], failures: SinkFailure[]): Promise<void> {
    try {
      await client.query(this.statement(rows));
    } catch (error) {
      const transient = isTransientStatementError(error);
      if (!transient && !isRowError(error)) throw error;
      await client.query("ROLLBACK");
      await client.query("BEGIN");
      for (const kept of this.written) await client.query(this.statement(kept));
      if (!transient) return this.isolate(client, rows, failures, error, 1);
      await this.backOff(1);
      return this.apply(client, rows, failures, 2);
    }
    this.written.push(rows);
  }

  /** The statement for `rows`: named, so PostgreSQL parses and plans a statement of this size once per connection. */
  private statement(rows: readonly Row[]): pg.QueryConfig<ParameterValue[]> {
    const remove = rows[0].remove;
    const text = remove ? this.statements.delete(rows.length) : this.statements.upsert(rows.length);
    const name = `eddy_${remove ? "delete" : "upsert"}_${rows.length}`;
    const values: ParameterValue[] = [];
    for (const row of rows) for (const value of row.values) values.push(value);
    return { name, text, values };
  }

  /**
   * Runs one statement for `rows` under a savepoint (`firstAttempt` counts an attempt already made). A
   * transient failure is retried; a rejected row, or one failing transiently after `maxRetries` attempts,
   * is isolated by halving; anything else (connection, missing table) is thrown.
   */
  private async apply(
    client: pg.Client,
    rows: Row[],
    failures: SinkFailure[],
    firstAttempt = 1,
  ): Promise<void> {
    const statement = this.statement(rows);
    for (let attempt = firstAttempt; ; attempt++) {
      await client.query(`SAVEPOINT ${SAVEPOINT}`);
      try {
        await client.query(statement);
        await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        this.written.push(rows);
        return;
      } catch (error) {
        await client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
        await client.query(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        const transient = isTransientStatementError(error);
        if (!transient && !isRowError(error)) throw error;
        if (transient && attempt < this.settings.maxRetries) {
          await this.backOff(attempt);
          continue;
        }
        return this.isolate(client, rows, failures, error, attempt);
      }
    }
  }

  /** After `rows` failed with `error` on attempt `attempts`: the one row to the DLQ, or each half again. */
  private async isolate(
    client: pg.Client,
    rows: Row[],
    failures: SinkFailure[],
    error: unknown,
    attempts: number,
  ): Promise<void> {
    if (rows.length === 1) {
      failures.push({
        index: rows[0].index,
        message: `PostgreSQL rejected the row: ${messageOf(error)} (SQLSTATE ${sqlState(error)})`,
        ...(isTransientStatementError(error) ? { attempts } : {}),
      });
      return;
    }
    const half = Math.ceil(rows.length / 2);
    await this.apply(client, rows.slice(0, half), failures);
    await this.apply(client, rows.slice(half), failures);
  }

  /** The wait after failed attempt `attempt` (1-based) of a transiently failing statement. */
  private backOff(attempt: number): Promise<void> {
    return sleep((this.options.retryDelayMs ?? 100) * 2 ** (attempt - 1));
  }

  /**
   * Commits the open transaction with `marker` in the offsets table. While rows keep coming (this
   * transaction filled `batchSize`), the next transaction is begun in the same round trip: the next
   * batch's statement then goes out without a `BEGIN` of its own. After a quieter spell nothing is left
   * open.
   */
  private async commitTransaction(marker: number, positions: Doc): Promise<void> {
    const { client, epoch } = await this.connection();
    const busy = this.pendingRows >= this.settings.batchSize;
    try {
      if (!this.inTransaction) await client.query("BEGIN");
      this.inTransaction = true;
      const committed = await this.offsets.commit(
        client,
        epoch,
        marker,
        EJSON.stringify(positions, { relaxed: false }),
        { begin: busy },
      );
      this.inTransaction = committed && busy;
      if (!committed) {
        this.transactionOpenedAt = undefined;
        this.written = [];
        throw new ConnectorError(
          `PostgreSQL $emit to ${this.settings.table}: another run of processor '${this.options.processorName}' ` +
            `took over the offsets row in ${this.settings.offsetsTable}; this run stops without committing`,
          { retryable: false },
        );
      }
      this.transactionOpenedAt = undefined;
      this.pendingRows = 0;
      this.written = [];
    } catch (error) {
      throw this.lost(error, `PostgreSQL commit to ${this.settings.table} failed`);
    }
  }

  /** The connection of this run: tables ensured and a new epoch taken (fencing earlier runs). */
  private connection(): Promise<{ client: pg.Client; epoch: string }> {
    this.client ??= (async () => {
      let client: pg.Client | undefined;
      try {
        client = await connectPostgres(this.options.clientConfig);
        await this.offsets.ensure(client);
        if (this.settings.createTable) await client.query(this.statements.createTable());
        const { epoch } = await this.offsets.fence(client);
        return { client, epoch };
      } catch (error) {
        await client?.end().catch(() => undefined);
        throw postgresFailure(error, `PostgreSQL $emit could not connect for ${this.settings.table}`);
      }
    })();
    // A failed connection is not kept: the supervisor's restart builds a new sink anyway.
    this.client.catch(() => (this.client = undefined));
    return this.client;
  }

  /** After a failure inside the transaction, the connection is dropped: its transaction is gone. */
  private lost(error: unknown, context: string): ConnectorError {
    const failure = postgresFailure(error, context);
    const opened = this.client;
    this.client = undefined;
    this.inTransaction = false;
    this.transactionOpenedAt = undefined;
    this.pendingRows = 0;
    this.written = [];
    void opened?.then(({ client }) => client.end()).catch(() => undefined);
    return failure;
  }
}

/**
 * Recovery for `TwoPhaseCheckpoints`: fences earlier runs and returns the last marker committed with the
 * output, or undefined when none was.
 */
export async function fenceAndReadPostgresMarker(
  clientConfig: pg.ClientConfig,
  offsetsTable: string,
  processorName: string,
): Promise<number | undefined> {
  let client: pg.Client | undefined;
  try {
    client = await connectPostgres(clientConfig);
    const offsets = new OffsetsTable(offsetsTable, processorName);
    await offsets.ensure(client);
    return (await offsets.fence(client)).marker;
  } catch (error) {
    throw postgresFailure(error, `PostgreSQL exactly-once recovery for processor '${processorName}' failed`);
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/**
 * A conflict key as a Map key: a single string or number key as itself (no text built per row), a
 * composite or other key as JSON text. Distinct keys stay distinct: a JSON text is never equal to a
 * single string key of the same text, because single string keys are prefixed.
 */
function keyIdentity(key: readonly ParameterValue[]): unknown {
  if (key.length === 1) {
    const only = key[0];
    if (typeof only === "number") return only;
    if (typeof only === "string") return `s${only}`;
  }
  return `j${JSON.stringify(key)}`;
}

function sizeOf(value: ParameterValue): number {
  if (value === null) return 0;
  if (typeof value === "string") return value.length;
  if (Buffer.isBuffer(value)) return value.length;
  return 8;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
