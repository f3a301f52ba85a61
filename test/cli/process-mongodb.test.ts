// `sp process` end to end against the MongoDB test server: $merge, the DLQ collection from options.dlq,
// {{VAR}} secrets in the connections file, and --dry-run.
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";
import { file, lines, sp } from "./sp.ts";

describe("sp process with MongoDB", () => {
  let client: MongoClient;
  const db = uniqueName("cli");
  const connections = () =>
    file(`${db}-connections.json`, {
      connections: [{ name: "atlas", type: "Cluster", config: { uri: "{{MONGODB_URI}}" } }],
    });
  const definition = (options: object) =>
    file(`${db}-${Math.random().toString(36).slice(2)}.json`, {
      name: "ratios",
      pipeline: [
        {
          $source: {
            documents: [
              { _id: 1, a: 6, b: 3 },
              { _id: 2, a: 1, b: 0 },
              { _id: 3, a: 9, b: 3 },
            ],
          },
        },
        { $addFields: { ratio: { $divide: ["$a", "$b"] } } },
        { $project: { _id: 1, ratio: 1 } },
        { $merge: { into: { connectionName: "atlas", db, coll: "ratios" } } },
      ],
      options,
    });

  beforeAll(async () => {
    process.env.MONGODB_URI ??= testServices().mongodbUri;
    client = new MongoClient(testServices().mongodbUri);
    await client.connect();
  });

  afterAll(async () => {
    await client.db(db).dropDatabase();
    await client.close();
  });

  it("merges into the collection and dead-letters the failing document into options.dlq", async () => {
    const run = sp([
      "process",
      definition({ dlq: { connectionName: "atlas", db, coll: "dlq" } }),
      "--connections",
      connections(),
      "--stats",
    ]);
    expect(run.stderr).not.toContain("Error");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("");
    const merged = await client
      .db(db)
      .collection("ratios")
      .find({}, { sort: { _id: 1 } })
      .toArray();
    expect(merged).toEqual([
      { _id: 1, ratio: 2 },
      { _id: 3, ratio: 3 },
    ]);
    const dlq = await client.db(db).collection("dlq").find().toArray();
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({
      errInfo: {
        reason: "Failed to process input document in AddFieldsOperator with error: can't $divide by zero",
      },
      operatorName: "AddFieldsOperator",
      doc: { _id: 2, a: 1, b: 0 },
      processorName: "ratios",
    });
    const stats = lines(run.stderr.trim().split("\n").at(-1) as string)[0];
    expect(stats).toMatchObject({ inputMessageCount: 3, outputMessageCount: 2, dlqMessageCount: 1 });
  });

  it("prints what would be written with --dry-run, writing nothing", async () => {
    const run = sp(["process", definition({}), "--connections", connections(), "--dry-run"]);
    expect(run.code).toBe(0);
    expect(lines(run.stdout).map((d) => d.ratio)).toEqual([2, 3]);
    expect(lines(run.stderr)[0]._dlqMessage).toMatchObject({ operatorName: "AddFieldsOperator" });
    expect(await client.db(db).collection("ratios").countDocuments()).toBe(2);
  });

  it("names the missing variable when a {{VAR}} is not set", () => {
    const missing = file(`${db}-missing.json`, {
      connections: [{ name: "atlas", type: "Cluster", config: { uri: "{{EDDY_TEST_UNSET_VARIABLE}}" } }],
    });
    const run = sp(["process", definition({}), "--connections", missing]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("EDDY_TEST_UNSET_VARIABLE is not set");
  });
});
