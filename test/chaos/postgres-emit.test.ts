// Chaos for PostgreSQL `$emit`: `sp process` upserts 100,000 generated events (a `documents` source, which
// resumes from its checkpointed position without a Kafka group join, so restarts are quick) into a
// PostgreSQL table, and is killed with SIGKILL at seeded points. Rows commit in the same transaction as
// the checkpoint's marker (the offsets table), so after every restart the table must hold each event once
// and each row must have been applied once: a PostgreSQL trigger records every insert and update of the
// table in an audit table, whose rolled-back entries vanish with their transaction.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";
import { killAll, killPoints, processArgs, report, runWithKills, SpChild } from "./support.ts";

const EVENTS = 100_000;
const KILLS = 4;
const CHECKPOINT_INTERVAL_MS = 500;

describe("chaos: PostgreSQL $emit under SIGKILL", () => {
  const { databaseUrl } = testServices();
  const dir = mkdtempSync(join(tmpdir(), "eddy-chaos-pg-"));

  afterAll(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("documents → PostgreSQL upserts: every event is in the table once and was applied once", async () => {
    const topic = uniqueName("chaos_pg");
    const table = topic;
    const audit = `${topic}_audit`;
    const sql = new pg.Client({ connectionString: databaseUrl });
    await sql.connect();
    const connections = join(dir, "connections.json");
    writeFileSync(
      connections,
      JSON.stringify({
        connections: [{ name: "warehouse", type: "PostgreSQL", config: { connectionString: databaseUrl } }],
      }),
    );
    const definition = join(dir, `${topic}.json`);
    writeFileSync(
      definition,
      JSON.stringify({
        name: `pg_${topic}`,
        pipeline: [
          {
            $source: {
              documents: {
                $map: {
                  input: { $range: [0, EVENTS] },
                  in: { i: "$$this", v: { $mod: [{ $multiply: ["$$this", 7919] }, 1000] } },
                },
              },
            },
          },
          {
            $emit: {
              connectionName: "warehouse",
              table,
              conflictColumns: ["i"],
              columns: { i: "i", doubled: { $multiply: ["$v", 2] }, processed_at: "$$NOW" },
            },
          },
        ],
      }),
    );
    try {
      await sql.query(
        `CREATE TABLE ${table} (i int PRIMARY KEY, doubled int NOT NULL, processed_at timestamptz)`,
      );
      await sql.query(`CREATE TABLE ${audit} (i int NOT NULL)`);
      await sql.query(
        `CREATE FUNCTION ${audit}_fn() RETURNS trigger AS $$ BEGIN INSERT INTO ${audit} VALUES (NEW.i); RETURN NEW; END $$ LANGUAGE plpgsql`,
      );
      await sql.query(
        `CREATE TRIGGER ${audit}_tr AFTER INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${audit}_fn()`,
      );
      const args = processArgs(definition, connections, join(dir, topic), CHECKPOINT_INTERVAL_MS);
      const count = async () => Number((await sql.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
      const run = await runWithKills({
        child: new SpChild(args),
        args,
        points: killPoints(17, KILLS),
        expected: EVENTS,
        progress: count,
        writtenSince: async (at) =>
          (await sql.query(`SELECT 1 FROM ${table} WHERE processed_at > $1 LIMIT 1`, [at])).rowCount === 1,
      });
      // The documents source is finite: the last child drains it, commits and exits by itself.
      expect(await run.child.exited).toBe(0);
      const rows = await sql.query(`SELECT count(*) AS n, sum(doubled)::bigint AS s FROM ${table}`);
      expect(Number(rows.rows[0].n)).toBe(EVENTS);
      expect(Number(rows.rows[0].s)).toBe(expectedSum());
      const applied = await sql.query(
        `SELECT count(*) AS n, count(DISTINCT i) AS d, max(c) AS most FROM (SELECT i, count(*) AS c FROM ${audit} GROUP BY i) t`,
      );
      expect({
        events: Number(applied.rows[0].n),
        mostApplications: Number(applied.rows[0].most),
      }).toEqual({ events: EVENTS, mostApplications: 1 });
      report("documents → PostgreSQL $emit", run, run.child.stderr);
    } finally {
      await sql.query(`DROP TABLE IF EXISTS ${table}, ${audit}`).catch(() => undefined);
      await sql.query(`DROP FUNCTION IF EXISTS ${audit}_fn()`).catch(() => undefined);
      await sql
        .query(`DELETE FROM eddy_offsets WHERE processor = $1`, [`pg_${topic}`])
        .catch(() => undefined);
      await sql.end();
    }
  }, 180_000);
});

const valueOf = (i: number) => (i * 7919) % 1000;

function expectedSum(): number {
  let sum = 0;
  for (let i = 0; i < EVENTS; i++) sum += valueOf(i) * 2;
  return sum;
}
