import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PostgresUpsertSink,
  fenceAndReadPostgresMarker,
  type PostgresEmitPlan,
} from "../../../src/connectors/postgresql/upsert-sink.ts";
import { Statements } from "../../../src/connectors/postgresql/statements.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { formatIssue, MapConnectionCatalog, planProcessor, PlanError } from "../../../src/pipeline/index.ts";
import { testServices, uniqueName } from "../../support/services.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";

const catalog = new MapConnectionCatalog([
  { name: "wh", type: "PostgreSQL", config: { connectionString: "postgres://x/y" } },
]);

function emitPlan(emit: Doc): PostgresEmitPlan {
  const plan = planProcessor(
    { name: "t", pipeline: [{ $source: { documents: [] } }, { $emit: { connectionName: "wh", ...emit } }] },
    { connections: catalog, connectors: CONNECTORS },
  );
  if (plan.sink?.kind !== "emit") throw new Error("expected an $emit sink");
  return plan.sink;
}

function planIssues(emit: Doc): string[] {
  try {
    emitPlan(emit);
    return [];
  } catch (error) {
    if (error instanceof PlanError) return error.errors.map(formatIssue);
    throw error;
  }
}

describe("PostgreSQL $emit form", () => {
  it("reports every problem with its path", () => {
    expect(
      planIssues({
        table: "bad name",
        conflictColumns: ["k"],
        columns: { v: "v" },
        types: { v: "text; drop" },
        config: { batchSize: 0 },
      }),
    ).toEqual([
      expect.stringContaining("table must be a table name"),
      expect.stringContaining("conflict column 'k' must also be one of columns"),
      expect.stringMatching(/types\.v.*PostgreSQL type name/),
      expect.stringMatching(/config\.batchSize.*at least 1/),
    ]);
    expect(planIssues({ table: "t", columns: { k: "k" } })).toEqual([
      expect.stringContaining("conflictColumns"),
    ]);
    expect(
      planIssues({ table: "t", conflictColumns: "k", columns: { k: "k" }, config: { createTable: true } }),
    ).toEqual([expect.stringContaining("createTable needs a type in types for every column")]);
  });

  it("builds one multi-row upsert per batch size, with casts from types", () => {
    const statements = new Statements({
      table: "bi.orders",
      columns: ["id", "total"],
      conflictColumns: ["id"],
      types: { total: "numeric(12,2)" },
    });
    expect(statements.upsert(2)).toBe(
      'INSERT INTO "bi"."orders" ("id", "total") VALUES ($1, $2::numeric(12,2)), ($3, $4::numeric(12,2)) ON CONFLICT ("id") DO UPDATE SET "total" = EXCLUDED."total"',
    );
    expect(statements.delete(2)).toBe('DELETE FROM "bi"."orders" WHERE ("id") IN (($1), ($2))');
  });
});

describe("PostgresUpsertSink", () => {
  const { databaseUrl } = testServices();
  const sql = new pg.Client({ connectionString: databaseUrl });
  const table = uniqueName("upsert");
  const processor = uniqueName("upsert_proc");
  const clientConfig = { connectionString: databaseUrl };
  const rows = async () => (await sql.query(`SELECT id, name, n FROM ${table} ORDER BY id`)).rows;

  beforeAll(async () => {
    await sql.connect();
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text NOT NULL, n int CHECK (n >= 0))`);
  });
  afterAll(async () => {
    await sql.query(`DROP TABLE IF EXISTS ${table}`);
    await sql.query(`DELETE FROM eddy_offsets WHERE processor LIKE $1`, [`${processor}%`]);
    await sql.end();
  });

  const plan = emitPlan({
    table,
    conflictColumns: ["id"],
    columns: { id: "id", name: "$name", n: { $add: ["$n", 0] } },
    config: { batchSize: 3, deleteWhen: { $eq: ["$op", "delete"] } },
  });

  it("writes nothing visible until commit, then the batch and the marker together; rejected rows fail alone", async () => {
    const sink = new PostgresUpsertSink(plan, { processorName: processor, clientConfig });
    try {
      const result = await sink.write([
        { id: 1, name: "a", n: 1 },
        { id: 2, name: "b", n: -5 }, // CHECK violation
        { id: 3, name: null, n: 3 }, // NOT NULL violation
        { id: 4, name: "d", n: 4 },
        { id: 1, name: "a2", n: 10 }, // same key again: the last one wins
        { name: "no key" },
      ]);
      expect(result.failures?.map((f) => [f.index, f.message.slice(0, 40)])).toEqual([
        [5, expect.stringContaining("conflict columns id must not be null")],
        [1, expect.stringContaining("PostgreSQL rejected the row")],
        [2, expect.stringContaining("PostgreSQL rejected the row")],
      ]);
      expect(await rows()).toEqual([]);
      expect(sink.commitDue()).toBe(true); // 3 rows pending, batchSize 3
      await sink.commit(41, { resumeToken: { _data: "x" } });
      expect(sink.commitDue()).toBe(false);
      expect(await rows()).toEqual([
        { id: 1, name: "a2", n: 10 },
        { id: 4, name: "d", n: 4 },
      ]);
      await sink.write([
        { id: 4, op: "delete" },
        { id: 5, name: "e", n: 5 },
      ]);
      await sink.commit(42);
      expect(await rows()).toEqual([
        { id: 1, name: "a2", n: 10 },
        { id: 5, name: "e", n: 5 },
      ]);
      const offsets = await sql.query(`SELECT marker, positions FROM eddy_offsets WHERE processor = $1`, [
        processor,
      ]);
      expect(offsets.rows[0].marker).toBe("42");
    } finally {
      await sink.close();
    }
  });

  it("a rejected row in a later batch keeps the earlier batches of the open transaction (written again)", async () => {
    const sink = new PostgresUpsertSink(plan, { processorName: `${processor}_replay`, clientConfig });
    try {
      await sql.query(`DELETE FROM ${table}`);
      expect((await sink.write([{ id: 11, name: "k", n: 1 }])).failures).toBeUndefined();
      expect((await sink.write([{ id: 12, name: "l", n: 2 }])).failures).toBeUndefined();
      // Fails the statement without a savepoint: the transaction is rolled back, begun and rebuilt.
      const result = await sink.write([
        { id: 13, name: "m", n: -1 },
        { id: 14, name: "n", n: 4 },
      ]);
      expect(result.failures?.map((f) => f.index)).toEqual([0]);
      expect(await sink.write([{ id: 15, name: "o", n: 5 }])).toEqual({ bytes: expect.any(Number) });
      await sink.commit(1);
      expect((await rows()).map((r) => r.id)).toEqual([11, 12, 14, 15]);
    } finally {
      await sink.close();
    }
  });

  it("discards uncommitted rows on close, and a newer run fences the older one", async () => {
    const name = `${processor}_fence`;
    const old = new PostgresUpsertSink(plan, { processorName: name, clientConfig });
    await old.write([{ id: 100, name: "x", n: 1 }]);
    await old.commit(7);
    await old.write([{ id: 101, name: "y", n: 1 }]);
    // A new run starts: recovery fences the old one and reads the committed marker.
    expect(await fenceAndReadPostgresMarker(clientConfig, "eddy_offsets", name)).toBe(7);
    await expect(old.commit(8)).rejects.toThrow(/another run of processor/);
    await old.close();
    expect((await sql.query(`SELECT id FROM ${table} WHERE id >= 100 ORDER BY id`)).rows).toEqual([
      { id: 100 },
    ]);
    const next = new PostgresUpsertSink(plan, { processorName: name, clientConfig });
    await next.write([{ id: 102, name: "z", n: 1 }]);
    await next.close(); // never committed
    expect((await sql.query(`SELECT id FROM ${table} WHERE id >= 100 ORDER BY id`)).rows).toEqual([
      { id: 100 },
    ]);
  });

  it("under a steady stream a commit begins the next transaction with it; a quiet one leaves none open", async () => {
    const application = uniqueName("eddy_sink");
    const sink = new PostgresUpsertSink(plan, {
      processorName: `${processor}_steady`,
      clientConfig: { ...clientConfig, application_name: application },
    });
    const state = async () =>
      (
        await sql.query<{ state: string }>(`SELECT state FROM pg_stat_activity WHERE application_name = $1`, [
          application,
        ])
      ).rows.map((row) => row.state);
    try {
      await sql.query(`DELETE FROM ${table}`);
      // Rows computed ahead (prepare), then written: a rejected one is still reported by its index.
      const batch = [
        { id: 21, name: "p", n: 1 },
        { id: 22, name: "q", n: -1 },
        { id: 23, name: "r", n: 3 },
        { id: 24, name: "s", n: 4 },
      ];
      sink.prepare(batch);
      expect((await sink.write(batch)).failures?.map((f) => f.index)).toEqual([1]);
      expect(sink.commitDue()).toBe(true);
      await sink.commit(1);
      // batchSize rows were pending: the next transaction is already open, with nothing in it.
      expect(await state()).toEqual(["idle in transaction"]);
      expect(sink.commitDue()).toBe(false);
      expect((await rows()).map((r) => r.id)).toEqual([21, 23, 24]);
      await sink.write([{ id: 25, name: "t", n: 5 }]);
      expect(await rows()).toHaveLength(3); // not visible before its commit
      await sink.commit(2);
      expect(await state()).toEqual(["idle"]);
      expect((await rows()).map((r) => r.id)).toEqual([21, 23, 24, 25]);
      const offsets = await sql.query(`SELECT marker FROM eddy_offsets WHERE processor = $1`, [
        `${processor}_steady`,
      ]);
      expect(offsets.rows[0].marker).toBe("2");
    } finally {
      await sink.close();
    }
  });

  it("fails the run with a clear, permanent error when the table is missing", async () => {
    const missing = emitPlan({
      table: uniqueName("missing"),
      conflictColumns: ["id"],
      columns: { id: "id" },
    });
    const sink = new PostgresUpsertSink(missing, { processorName: `${processor}_missing`, clientConfig });
    const error = await sink.write([{ id: 1 }]).catch((e: unknown) => e);
    expect(error).toMatchObject({
      retryable: false,
      message: expect.stringMatching(/42P01.*create the table first/),
    });
    await sink.close();
  });
});
