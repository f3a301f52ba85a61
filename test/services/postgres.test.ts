import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";

describe("PostgreSQL test server", () => {
  const client = new pg.Client({ connectionString: testServices().databaseUrl });
  const table = uniqueName("smoke");

  beforeAll(async () => {
    await client.connect();
  });

  afterAll(async () => {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  });

  it("creates a table, writes rows in a transaction and reads them back", async () => {
    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, doc jsonb NOT NULL)`);
    await client.query("BEGIN");
    await client.query(`INSERT INTO ${table} VALUES ($1, $2), ($3, $4)`, [1, { a: 1 }, 2, { a: 2 }]);
    await client.query("COMMIT");
    const { rows } = await client.query(`SELECT id, doc->>'a' AS a FROM ${table} ORDER BY id`);
    expect(rows).toEqual([
      { id: 1, a: "1" },
      { id: 2, a: "2" },
    ]);
  });
});
