// A scaled-out processor without a window: no repartition, each source partition runs the pipeline with
// its own checkpoint. On one server (embedded state store, no leases) its one task takes every partition;
// a stop and start resumes each partition from its checkpoint, so `$merge` (with the ids Eddy derives)
// holds every record once.
import { Producer } from "@platformatic/kafka";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";
import { eventually, startTestServer, type TestServer } from "../server/helpers.ts";
import { readCommitted } from "../support/kafka.ts";
import { createTopic, deleteTopics, kafkaClient, scaleConnections } from "./fixtures.ts";

const topic = uniqueName("eddy_scale_nw");
const outTopic = uniqueName("eddy_scale_nw_out");
const db = uniqueName("eddy_scale_nw");
const client = () => kafkaClient(testServices(), "eddy-scale-nw");
let mongo: MongoClient;
let server: TestServer;

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri);
  await mongo.connect();
  await createTopic(testServices(), topic, 4);
  server = await startTestServer();
  for (const connection of scaleConnections(testServices()))
    await server.api("POST", "/api/v1/workspaces/default/connections", connection);
});

afterAll(async () => {
  await server?.close();
  await deleteTopics(testServices(), [topic, outTopic]);
  await mongo.db(db).dropDatabase();
  await mongo.close();
});

async function produce(from: number, to: number): Promise<void> {
  const producer = new Producer({ ...client(), autocreateTopics: false });
  const messages = [];
  for (let n = from; n < to; n++)
    messages.push({ topic, partition: n % 4, value: Buffer.from(JSON.stringify({ n, double: n * 2 })) });
  await producer.send({ messages });
  await producer.close();
}

describe("a scaled-out processor without a window", () => {
  it("runs per source partition and resumes each from its own checkpoint", { timeout: 90_000 }, async () => {
    const P = "/api/v1/workspaces/default/processors";
    const created = await server.api("POST", P, {
      name: "nw",
      options: { parallelism: 2 },
      pipeline: [
        { $source: { connectionName: "kafka", topic, config: { auto_offset_reset: "earliest" } } },
        { $match: { n: { $gte: 0 } } },
        { $merge: { into: { connectionName: "atlas", db, coll: "out" } } },
      ],
    });
    expect(created.status).toBe(201);
    await produce(0, 200);
    expect((await server.api("POST", `${P}/nw:start`)).status).toBe(200);
    const out = mongo.db(db).collection("out");
    await eventually(async () => ((await out.countDocuments()) >= 200 ? true : undefined), 30_000, "200");
    // The one task holds all four partitions, each a runtime of its own.
    const stats = await eventually(
      async () => {
        const body = (await server.api("GET", `${P}/nw/stats`)).body as {
          stats: { tasks?: Array<{ partitions: number[] }>; inputMessageCount: number };
        };
        return body.stats.tasks?.[0]?.partitions.length === 4 ? body.stats : undefined;
      },
      30_000,
      "the task's partitions in the stats",
    );
    expect(stats.tasks?.[0]?.partitions).toEqual([0, 1, 2, 3]);
    expect((await server.api("POST", `${P}/nw:stop`)).status).toBe(200);

    await produce(200, 300);
    expect((await server.api("POST", `${P}/nw:start`)).status).toBe(200);
    await eventually(async () => ((await out.countDocuments()) >= 300 ? true : undefined), 30_000, "300");
    await new Promise((r) => setTimeout(r, 1_000));
    const docs = await out.find().toArray();
    expect(docs).toHaveLength(300);
    expect(new Set(docs.map((d) => d.n)).size).toBe(300);
    // The processor's counts go on from the partitions' checkpoints: every record once, over both runs, and
    // still so once it stopped.
    type Top = { stats: { inputMessageCount: number; outputMessageCount: number } };
    const counted = async () => ((await server.api("GET", `${P}/nw/stats`)).body as Top).stats;
    await eventually(
      async () => ((await counted()).outputMessageCount === 300 ? true : undefined),
      30_000,
      "300 outputs in the stats",
    );
    expect(await counted()).toMatchObject({ inputMessageCount: 300, outputMessageCount: 300 });
    expect((await server.api("POST", `${P}/nw:stop`)).status).toBe(200);
    expect(await counted()).toMatchObject({ inputMessageCount: 300, outputMessageCount: 300 });
    // Verbose, the stopped task's operators and latency are those of the partitions that last ran on it.
    type Verbose = {
      stats: {
        operatorStats?: Array<{ name: string; outputMessageCount: number }>;
        latency?: { count: number };
      };
    };
    const { stats: last } = (await server.api("GET", `${P}/nw/stats?verbose=true`)).body as Verbose;
    expect(last.operatorStats?.at(-1)).toMatchObject({ name: "MergeOperator", outputMessageCount: 300 });
    expect(last.latency?.count).toBeGreaterThan(0);
  });

  it(
    "writes an exactly-once $emit per partition: a read_committed reader sees each record once",
    {
      timeout: 90_000,
    },
    async () => {
      const P = "/api/v1/workspaces/default/processors";
      // Records 0…299 are in the topic already (the test above); this processor reads them from the start.
      const created = await server.api("POST", P, {
        name: "nwEos",
        options: { parallelism: 2 },
        pipeline: [
          { $source: { connectionName: "kafka", topic, config: { auto_offset_reset: "earliest" } } },
          { $emit: { connectionName: "kafka", topic: outTopic, config: { exactlyOnce: true } } },
        ],
      });
      expect(created.status).toBe(201);
      expect((await server.api("POST", `${P}/nwEos:start`)).status).toBe(200);
      await eventually(
        async () => ((await readCommitted(outTopic, 500)).length >= 300 ? true : undefined),
        40_000,
        "300 committed outputs",
      );
      expect((await server.api("POST", `${P}/nwEos:stop`)).status).toBe(200);
      await produce(300, 350);
      expect((await server.api("POST", `${P}/nwEos:start`)).status).toBe(200);
      await eventually(
        async () => ((await readCommitted(outTopic, 500)).length >= 350 ? true : undefined),
        40_000,
        "350 committed outputs",
      );
      expect((await server.api("POST", `${P}/nwEos:stop`)).status).toBe(200);
      const seen = (await readCommitted(outTopic)).map((doc) => doc.n);
      expect(seen).toHaveLength(350);
      expect(new Set(seen).size).toBe(350);
    },
  );
});
