// The migration end to end: the sample App Services export is converted, the converted warehouse
// processor runs (`sp process`, a child) against the test MongoDB and PostgreSQL, writes in MongoDB become
// rows in PostgreSQL, and `sp validate` compares them with the copy the trigger would have produced:
// READY_FOR_PRODUCTION, then MAJOR_ISSUES once a field of the stream-fed copy is corrupted on purpose.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { MongoClient, ObjectId } from "mongodb";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { captureIo } from "../support/io.ts";
import { main } from "../../src/cli/main.ts";
import { testServices, uniqueName } from "../support/services.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const EXPORT = join(ROOT, "examples/app-services-export");

async function waitFor(
  condition: () => Promise<boolean> | boolean,
  what: string,
  child?: ChildProcess,
  stderr?: () => string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await condition())) {
    if (child && child.exitCode !== null)
      throw new Error(`sp process exited while waiting for ${what}:\n${stderr?.()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${stderr?.()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("migrating off Atlas Triggers, end to end", () => {
  const { mongodbUri, databaseUrl } = testServices();
  const dir = mkdtempSync(join(tmpdir(), "eddy-migrate-e2e-"));
  let child: ChildProcess | undefined;

  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("converts the sample export; writes in MongoDB reach PostgreSQL; sp validate judges the copies", async () => {
    const workspace = join(dir, "workspace");
    const converted = captureIo();
    expect(
      await main(
        ["migrate", "triggers", EXPORT, "--out", workspace, "--postgres", "{{WAREHOUSE_URL}}", "--json"],
        converted.io,
      ),
    ).toBe(1);
    const conversion = JSON.parse(converted.out()) as {
      triggers: { trigger: string; status: string; processor: string | null }[];
    };
    const status = Object.fromEntries(conversion.triggers.map((t) => [t.trigger, t.status]));
    expect(status).toEqual({
      auditOrderChanges: "converted",
      notifyCrmOnCustomerUpdate: "needs-review",
      recordLogin: "not-convertible",
      sweepUnprocessedOrders: "needs-review",
      syncOrdersToWarehouse: "needs-review",
    });
    expect(readFileSync(join(workspace, "MIGRATION.md"), "utf8")).toContain(
      "Authentication triggers fire on App Services logins",
    );
    expect(existsSync(join(workspace, "functions/syncOrderToWarehouse.js"))).toBe(true);

    // The converted processor, pointed at this run's database and table.
    const db = uniqueName("e2e_shop");
    const table = uniqueName("orders");
    const processorFile = join(workspace, "processors/syncOrdersToWarehouse.json");
    const processor = JSON.parse(readFileSync(processorFile, "utf8"));
    expect(processor.pipeline.at(-1).$emit).toMatchObject({
      connectionName: "warehouse",
      table: "orders",
      conflictColumns: ["order_id"],
    });
    processor.pipeline[0].$source.db = db;
    processor.pipeline.at(-1).$emit.table = table;
    writeFileSync(processorFile, JSON.stringify(processor));

    const sql = new pg.Client({ connectionString: databaseUrl });
    await sql.connect();
    const mongo = new MongoClient(mongodbUri);
    await mongo.connect();
    const orders = mongo.db(db).collection("orders");
    try {
      for (const name of [table, `${table}_trigger`])
        await sql.query(
          `CREATE TABLE ${name} (order_id text PRIMARY KEY, customer text, total numeric(12,2), status text)`,
        );
      await orders.insertOne({ _id: new ObjectId(), customer: "warm-up", total: 0, status: "draft" });
      const checkpointDir = join(dir, "checkpoints");
      let stderr = "";
      child = spawn(
        "node",
        [
          join(ROOT, "bin/sp.js"),
          "process",
          processorFile,
          "--connections",
          join(workspace, "connections/connections.json"),
          "--checkpoint-dir",
          checkpointDir,
          "--checkpoint-interval",
          "200",
        ],
        {
          env: { ...process.env, MONGODB_URI: mongodbUri, WAREHOUSE_URL: databaseUrl },
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      child.stderr!.on("data", (c) => (stderr += String(c)));
      // The first checkpoint comes at the first batch boundary, once the change stream is open.
      await waitFor(
        () => existsSync(join(checkpointDir, "checkpoints", "syncOrdersToWarehouse.json")),
        "the change stream",
        child,
        () => stderr,
      );

      const ids = Array.from({ length: 20 }, () => new ObjectId());
      await orders.insertMany(
        ids.map((_id, i) => ({
          _id,
          customer: `c${i}`,
          total: 10 + i + 0.5,
          status: i % 5 === 0 ? "draft" : "paid",
        })),
      );
      await orders.updateOne({ _id: ids[1] }, { $set: { status: "shipped", total: 99.25 } });
      await orders.deleteOne({ _id: ids[2] });
      // What the trigger's function would have posted: non-draft orders, as they are now.
      const expected = (
        await orders.find({ status: { $ne: "draft" }, customer: { $ne: "warm-up" } }).toArray()
      ).map((o) => [o._id.toHexString(), o.customer, o.total, o.status]);
      expect(expected).toHaveLength(15);
      for (const row of expected)
        await sql.query(`INSERT INTO ${table}_trigger VALUES ($1, $2, $3, $4)`, row);

      const rows = async () =>
        (
          await sql.query(
            `SELECT order_id, customer, total::float8 AS total, status FROM ${table} ORDER BY order_id`,
          )
        ).rows;
      await waitFor(
        async () => (await rows()).length === 15 && (await rows()).some((r) => r.status === "shipped"),
        "15 rows in PostgreSQL",
        child,
        () => stderr,
      );
      const written = await rows();
      expect(written.find((r) => r.order_id === ids[1].toHexString())).toEqual({
        order_id: ids[1].toHexString(),
        customer: "c1",
        total: 99.25,
        status: "shipped",
      });
      expect(written.find((r) => r.order_id === ids[2].toHexString())).toBeUndefined();

      const connections = join(dir, "validate-connections.json");
      writeFileSync(
        connections,
        JSON.stringify({
          connections: [{ name: "warehouse", type: "PostgreSQL", config: { connectionString: databaseUrl } }],
        }),
      );
      const args = [
        "validate",
        "--connections",
        connections,
        "--left",
        `warehouse.${table}_trigger`,
        "--right",
        `warehouse.${table}`,
        "--key",
        "order_id",
      ];
      const ready = captureIo();
      expect(await main(args, ready.io), ready.err()).toBe(0);
      expect(ready.out()).toContain("verdict: READY_FOR_PRODUCTION");
      expect(ready.out()).toContain("accuracy 100.00 %");

      await sql.query(`UPDATE ${table} SET total = total + 1 WHERE order_id <> $1`, [ids[3].toHexString()]);
      const major = captureIo();
      expect(await main([...args, "--json"], major.io)).toBe(2);
      const report = JSON.parse(major.out()) as {
        verdict: string;
        counts: Record<string, number>;
        topFields: { field: string; count: number }[];
        runId: string;
      };
      expect(report.verdict).toBe("MAJOR_ISSUES");
      expect(report.counts.VALUE_MISMATCH).toBe(14);
      expect(report.topFields[0]).toEqual({ field: "total", count: 14 });
      const stored = await sql.query(
        `SELECT count(*)::int AS n FROM validation_discrepancies WHERE run_id = $1`,
        [report.runId],
      );
      expect(stored.rows[0].n).toBe(14);
    } finally {
      child?.kill("SIGTERM");
      await mongo
        .db(db)
        .dropDatabase()
        .catch(() => undefined);
      await mongo.close();
      await sql.query(`DROP TABLE IF EXISTS ${table}, ${table}_trigger`).catch(() => undefined);
      await sql
        .query(`DELETE FROM eddy_offsets WHERE processor = 'syncOrdersToWarehouse'`)
        .catch(() => undefined);
      await sql.end();
    }
  }, 120_000);
});
