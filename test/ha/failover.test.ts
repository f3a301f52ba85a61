// High availability: two `sp serve` processes share one MongoDB state store. A processor runs on the
// instance holding its lease; when that instance is killed with SIGKILL, the standby takes over after
// the lease expires and resumes from the last checkpoint, and the window aggregates in MongoDB come out
// exactly as an uninterrupted run would write them.
import type { ChildProcess } from "node:child_process";
import { Producer } from "@platformatic/kafka";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { databaseUri, testServices, uniqueName } from "../support/services.ts";
import { eventually } from "../server/helpers.ts";
import { serveSharedStore, type SharedServe } from "../support/sp-serve.ts";

const TOKEN = "ha-test-token-0123456789";
const LEASE_TTL_MS = 2_000;
const stateDb = uniqueName("eddy_ha_state");
const outDb = uniqueName("eddy_ha_out");
const topic = uniqueName("eddy_ha");
const SENSORS = 4;
const BASE = Date.UTC(2026, 0, 1);
const children: ChildProcess[] = [];
let mongo: MongoClient;

type Instance = SharedServe;

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri);
  await mongo.connect();
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await mongo.db(stateDb).dropDatabase();
  await mongo.db(outDb).dropDatabase();
  await mongo.close();
});

/** A server of the test, on the shared state store. */
function serve(name: string): Promise<Instance> {
  return serveSharedStore(name, {
    stateUri: databaseUri(stateDb),
    token: TOKEN,
    leaseTtlMs: LEASE_TTL_MS,
    checkpointIntervalMs: 300,
    children,
  });
}

const acquired = (instance: Instance) =>
  instance.logs
    .filter((line) => line.includes('"processor lease acquired"'))
    .map((line) => JSON.parse(line) as { time?: string; ts?: string; fencingToken: number });

/** Events for seconds [from, to): one per sensor every 100 ms of event time, value = its index. */
function events(from: number, to: number): Array<{ sensor: number; ts: number; value: number }> {
  const out = [];
  for (let t = from * 10; t < to * 10; t++) {
    for (let sensor = 0; sensor < SENSORS; sensor++) out.push({ sensor, ts: BASE + t * 100, value: t });
  }
  return out;
}

async function produce(docs: readonly unknown[]): Promise<void> {
  const producer = new Producer({
    ...kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-ha-test"),
    autocreateTopics: true,
  });
  for (let i = 0; i < docs.length; i += 2_000) {
    await producer.send({
      messages: docs.slice(i, i + 2_000).map((doc) => ({ topic, value: Buffer.from(JSON.stringify(doc)) })),
    });
  }
  await producer.close();
}

describe("two sp serve instances sharing a MongoDB state store", () => {
  it("fails a processor over to the standby when its holder is killed", { timeout: 180_000 }, async () => {
    const began = Date.now();
    const phases: string[] = [];
    const mark = (what: string) => phases.push(`${what} at ${((Date.now() - began) / 1000).toFixed(1)} s`);
    const a = await serve("a");
    const b = await serve("b");
    await a.call("POST", "/connections", {
      name: "kafka",
      type: "Kafka",
      config: { bootstrapServers: testServices().kafkaBrokers.join(",") },
    });
    await a.call("POST", "/connections", {
      name: "atlas",
      type: "Cluster",
      config: { uri: testServices().mongodbUri },
    });
    const pipeline = [
      {
        $source: {
          connectionName: "kafka",
          topic,
          timeField: { $toDate: "$ts" },
          config: { auto_offset_reset: "earliest", group_id: uniqueName("ha") },
        },
      },
      {
        $tumblingWindow: {
          interval: { size: 1, unit: "second" },
          pipeline: [{ $group: { _id: "$sensor", count: { $sum: 1 }, total: { $sum: "$value" } } }],
        },
      },
      {
        $addFields: {
          _id: { sensor: "$_id", start: { $meta: "stream.window.start" } },
        },
      },
      { $merge: { into: { connectionName: "atlas", db: outDb, coll: "windows" } } },
    ];
    expect((await a.call("POST", "/processors", { name: "ha", pipeline })).status).toBe(201);
    // The first half of the stream, then start.
    await produce(events(0, 60));
    expect((await a.call("POST", "/processors/ha:start")).status).toBe(200);

    const windows = mongo.db(outDb).collection("windows");
    const holder = await eventually(
      async () => [a, b].find((instance) => acquired(instance).length > 0),
      30_000,
      "an instance to take the lease",
    );
    const standby = holder === a ? b : a;
    mark("lease taken");
    await eventually(
      async () => ((await windows.countDocuments()) >= SENSORS * 30 ? true : undefined),
      60_000,
      "half the windows written",
    );
    mark("half the windows written");
    // Let a checkpoint cover written windows, then kill the holder mid-stream.
    await new Promise((r) => setTimeout(r, 700));
    expect(acquired(standby)).toHaveLength(0);
    const killedAt = Date.now();
    holder.child.kill("SIGKILL");
    const takeover = await eventually(
      async () => (acquired(standby).length > 0 ? Date.now() : undefined),
      LEASE_TTL_MS * 10,
      "the standby to take the lease",
    );
    mark("standby took over");
    // The standby's fencing token is newer than the dead holder's.
    expect(acquired(standby)[0].fencingToken).toBe(acquired(holder)[0].fencingToken + 1);

    // The rest of the stream, and one late event that closes every window.
    await produce([...events(60, 120), { sensor: 0, ts: BASE + 200_000, value: 0 }]);
    const expected = new Map<string, { count: number; total: number }>();
    for (const e of events(0, 120)) {
      const key = `${e.sensor}/${Math.floor((e.ts - BASE) / 1000)}`;
      const entry = expected.get(key) ?? { count: 0, total: 0 };
      entry.count++;
      entry.total += e.value;
      expected.set(key, entry);
    }
    await eventually(
      async () => ((await windows.countDocuments()) >= expected.size ? true : undefined),
      90_000,
      `${expected.size} windows written`,
    );
    mark("all windows written");
    const written = await windows.find().toArray();
    const actual = new Map(
      written.map((doc) => {
        const id = doc._id as unknown as { sensor: number; start: Date };
        const second = Math.floor((id.start.getTime() - BASE) / 1000);
        return [`${id.sensor}/${second}`, { count: doc.count as number, total: doc.total as number }];
      }),
    );
    expect(actual).toEqual(expected);
    console.log(
      `failover: killed the holder (${holder.name}); ${standby.name} took over after ` +
        `${((takeover - killedAt) / 1000).toFixed(2)} s (lease TTL ${LEASE_TTL_MS / 1000} s); ` +
        `${written.length} windows, aggregates equal an uninterrupted run (${phases.join(", ")})`,
    );
    const view = (await standby.call("GET", "/processors/ha")).body;
    expect(view.state).toBe("STARTED");
    expect((await standby.call("POST", "/processors/ha:stop")).status).toBe(200);
    standby.child.kill("SIGTERM");
  });
});
