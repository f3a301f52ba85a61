// Dropping a scaled-out processor (docs/scale-out.md) deletes its repartition topic and the consumer groups
// Eddy named for it, on the real broker, and the reply says what became of each. A group that cannot be
// deleted (here: another consumer is still a member) is reported with the broker's reason, and the
// processor is dropped all the same.
import { Admin, Consumer, Producer } from "@platformatic/kafka";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repartitionTopic } from "../../src/connectors/kafka/repartition.ts";
import { describeKafkaDrop, type KafkaDropResult } from "../../src/control/scale/scaled-resources.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { eventually, startTestServer, TOKEN, type TestServer } from "../server/helpers.ts";
import { captureIo } from "../support/io.ts";
import { main } from "../../src/cli/main.ts";
import { createTopic, deleteTopics, kafkaClient, scaleConnections, windowPipeline } from "./fixtures.ts";

const P = "/api/v1/workspaces/default/processors";
const topic = uniqueName("eddy_scale_drop");
const db = uniqueName("eddy_scale_drop");
const client = () => kafkaClient(testServices(), "eddy-scale-drop");
let mongo: MongoClient;
let server: TestServer;

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri);
  await mongo.connect();
  await createTopic(testServices(), topic, 3);
  server = await startTestServer();
  for (const connection of scaleConnections(testServices()))
    await server.api("POST", "/api/v1/workspaces/default/connections", connection);
  const producer = new Producer({ ...client(), autocreateTopics: false });
  await producer.send({
    messages: [...Array(60).keys()].map((n) => ({
      topic,
      partition: n % 3,
      value: Buffer.from(
        JSON.stringify({ sensor: `s${n % 5}`, value: n, ts: Date.UTC(2026, 0, 1, 0, 0, n) }),
      ),
    })),
  });
  await producer.close();
});

afterAll(async () => {
  await server?.close();
  await deleteTopics(testServices(), [topic]);
  await mongo.db(db).dropDatabase();
  await mongo.close();
});

/** A processor repartitioned by `sensor` (not the message key), run until its windows come out, then stopped. */
async function runRepartitioned(name: string): Promise<void> {
  const created = await server.api("POST", P, {
    name,
    options: { parallelism: 2 },
    pipeline: windowPipeline({
      topic,
      groupBy: "$sensor",
      keyField: "sensor",
      outDb: db,
      coll: name,
      seconds: 10,
    }),
  });
  expect(created.status).toBe(201);
  expect((await server.api("POST", `${P}/${name}:start`)).status).toBe(200);
  await eventually(
    async () => ((await mongo.db(db).collection(name).countDocuments()) > 0 ? true : undefined),
    60_000,
    "windows out of the repartition topic",
  );
  expect((await server.api("POST", `${P}/${name}:stop`)).status).toBe(200);
}

async function kafkaNames(): Promise<{ topics: string[]; groups: string[] }> {
  const admin = new Admin(client());
  try {
    return { topics: await admin.listTopics(), groups: [...(await admin.listGroups()).keys()] };
  } finally {
    await admin.close();
  }
}

describe("dropping a scaled-out processor", () => {
  it("deletes its repartition topic and consumer groups, and says so", { timeout: 120_000 }, async () => {
    const name = uniqueName("dropme").replace(/_/g, "-");
    await runRepartitioned(name);
    const before = await kafkaNames();
    expect(before.topics).toContain(repartitionTopic(name));
    expect(before.groups).toEqual(
      expect.arrayContaining([`asp-${name}-consumer`, `eddy-${name}-repartition-consumer`]),
    );

    // `sp processors drop` says what it deleted.
    const cli = captureIo();
    const code = await main(
      ["processors", "drop", "--processor", name, "--server", server.url, "--token", TOKEN, "--json"],
      cli.io,
    );
    expect(code).toBe(0);
    const [outcome] = (JSON.parse(cli.out()) as { results: Array<{ note?: string; ok: boolean }> }).results;
    expect(outcome).toMatchObject({ name, action: "dropped", ok: true });
    expect(outcome.note).toBe(
      `deleted Kafka topic ${repartitionTopic(name)}, consumer group eddy-${name}-repartition-consumer, ` +
        `consumer group asp-${name}-consumer`,
    );
    const after = await eventually(async () => {
      const names = await kafkaNames();
      return names.topics.includes(repartitionTopic(name)) ? undefined : names;
    });
    expect(after.groups).not.toContain(`asp-${name}-consumer`);
    expect(after.groups).not.toContain(`eddy-${name}-repartition-consumer`);
    expect((await server.api("GET", `${P}/${name}`)).status).toBe(404);
  });

  it("reports a group it cannot delete and drops the processor anyway", { timeout: 120_000 }, async () => {
    const name = uniqueName("dropbusy").replace(/_/g, "-");
    await runRepartitioned(name);
    // Someone else's consumer is still a member of the processor's source group: the broker refuses to delete it.
    const intruder = new Consumer({ ...client(), groupId: `asp-${name}-consumer`, autocommit: false });
    intruder.topics.trackAll(topic);
    await intruder.joinGroup({});
    try {
      const dropped = await server.api("DELETE", `${P}/${name}`);
      expect(dropped.status).toBe(200);
      const results = (dropped.body as { kafka: KafkaDropResult[] }).kafka;
      expect(results.slice(0, 2)).toEqual([
        { kind: "topic", name: repartitionTopic(name), result: "deleted" },
        { kind: "consumer group", name: `eddy-${name}-repartition-consumer`, result: "deleted" },
      ]);
      expect(results[2]).toEqual({
        kind: "consumer group",
        name: `asp-${name}-consumer`,
        result: "failed",
        error: expect.stringMatching(/NON_EMPTY_GROUP|not empty|non.?empty/i),
      });
      const said = describeKafkaDrop(results);
      expect(said).toContain(`could not delete Kafka consumer group asp-${name}-consumer: `);
      console.log(`drop with a busy group: ${said}`);
      expect((await server.api("GET", `${P}/${name}`)).status).toBe(404);
      expect(
        server.logs.some((line) => line.includes('"processor dropped"') && line.includes("could not delete")),
      ).toBe(true);
    } finally {
      await intruder.close(true);
    }
    expect((await kafkaNames()).groups).toContain(`asp-${name}-consumer`);
  });

  it(
    "reports brokers it cannot reach, for each resource, and drops the processor anyway",
    { timeout: 60_000 },
    async () => {
      await server.api("POST", "/api/v1/workspaces/default/connections", {
        name: "nowhere",
        type: "Kafka",
        config: { bootstrapServers: "127.0.0.1:1" },
      });
      const name = uniqueName("dropgone").replace(/_/g, "-");
      const created = await server.api("POST", P, {
        name,
        options: { parallelism: 2 },
        pipeline: [
          { $source: { connectionName: "nowhere", topic, config: { group_id: "theirs" } } },
          { $merge: { into: { connectionName: "atlas", db, coll: name } } },
        ],
      });
      expect(created.status).toBe(201);
      const dropped = await server.api("DELETE", `${P}/${name}`);
      expect(dropped.status).toBe(200);
      const results = (dropped.body as { kafka: KafkaDropResult[] }).kafka;
      expect(results.map((r) => [r.kind, r.name, r.result])).toEqual([
        ["topic", repartitionTopic(name), "failed"],
        ["consumer group", `eddy-${name}-repartition-consumer`, "failed"],
        // A group_id the $source names is the user's: not Eddy's to delete.
        ["consumer group", "theirs", "kept"],
      ]);
      expect(results[0]).toMatchObject({ error: expect.stringMatching(/listing topics and groups failed/) });
      expect((await server.api("GET", `${P}/${name}`)).status).toBe(404);
    },
  );
});
