// Scale-out (docs/scale-out.md): three `sp serve` processes share one MongoDB state store and run one
// processor with `options.parallelism: 3` over a 6-partition topic. Its tumbling window groups by `sensor`,
// which is not the message key, so records are repartitioned through `eddy-<processor>-repartition`. One
// instance is killed with SIGKILL mid-run and a fourth joins later; every window of every sensor must come out
// exactly as a single-instance run (the same pipeline without parallelism, run alongside) and as computed.
import type { ChildProcess } from "node:child_process";
import { Admin, Producer } from "@platformatic/kafka";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { repartitionTopic } from "../../src/connectors/kafka/repartition.ts";
import { databaseUri, testServices, uniqueName } from "../support/services.ts";
import { eventually } from "../server/helpers.ts";
import { serveSharedStore, type SharedServe } from "../support/sp-serve.ts";
import { expectedWindows as expectedWindowTotals, writtenWindows } from "./window-totals.ts";

const TOKEN = "scale-test-token-0123456789";
// Generous for a loaded machine: a lease lost to a late renewal only moves work around (still correct).
const LEASE_TTL_MS = 3_000;
const PARTITIONS = 6;
const SENSORS = 12;
const BASE = Date.UTC(2026, 0, 1);
const stateDb = uniqueName("eddy_scale_state");
const outDb = uniqueName("eddy_scale_out");
const topic = uniqueName("eddy_scale");
const scaled = uniqueName("scaled").replace(/_/g, "-");
const single = uniqueName("single").replace(/_/g, "-");
const children: ChildProcess[] = [];
let mongo: MongoClient;
const kafka = () =>
  kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-scale-test");

type Instance = SharedServe;

interface Event {
  readonly sensor: number;
  readonly ts: number;
  readonly value: number;
  readonly partition: number;
}

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri);
  await mongo.connect();
  const admin = new Admin(kafka());
  await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
  await admin.close();
});

let passed = false;

afterAll(async () => {
  // On a failure: what the servers logged and what their stats said, to see where the run went wrong.
  const dump = (globalThis as { scaleDump?: () => string[] }).scaleDump;
  if (dump && !passed) console.log(dump().slice(-80).join("\n"));
  const stats = (globalThis as { scaleStats?: () => Promise<unknown[]> }).scaleStats;
  if (stats && !passed) console.log(JSON.stringify(await stats().catch((e: unknown) => String(e))));
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  const admin = new Admin(kafka());
  await admin.deleteTopics({ topics: [topic, repartitionTopic(scaled)] }).catch(() => undefined);
  await admin.close();
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
    checkpointIntervalMs: 500,
    children,
  });
}

/** Event seconds [from, to): every sensor every 100 ms; sensor s at step t goes to partition (t + s) % 6. */
function events(from: number, to: number): Event[] {
  const out: Event[] = [];
  for (let t = from * 10; t < to * 10; t++)
    for (let sensor = 0; sensor < SENSORS; sensor++)
      out.push({ sensor, ts: BASE + t * 100, value: t % 97, partition: (t + sensor) % PARTITIONS });
  return out;
}

/** One far-future event per sensor on every partition: it closes every earlier window everywhere. */
function closers(): Event[] {
  const out: Event[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++)
    for (let sensor = 0; sensor < SENSORS; sensor++)
      out.push({ sensor, ts: BASE + 3_600_000, value: 0, partition });
  return out;
}

async function produce(docs: readonly Event[]): Promise<void> {
  const producer = new Producer({ ...kafka(), autocreateTopics: false });
  for (let i = 0; i < docs.length; i += 2_000) {
    await producer.send({
      messages: docs.slice(i, i + 2_000).map(({ partition, ...doc }) => ({
        topic,
        partition,
        // The message key is the device, not the sensor the window groups by.
        key: Buffer.from(`device-${partition}`),
        value: Buffer.from(JSON.stringify(doc)),
      })),
    });
  }
  await producer.close();
}

function pipeline(coll: string, group: string): unknown[] {
  return [
    {
      $source: {
        connectionName: "kafka",
        topic,
        timeField: { $toDate: "$ts" },
        config: { auto_offset_reset: "earliest", group_id: group },
      },
    },
    {
      $tumblingWindow: {
        interval: { size: 1, unit: "second" },
        pipeline: [{ $group: { _id: "$sensor", count: { $sum: 1 }, total: { $sum: "$value" } } }],
      },
    },
    { $addFields: { _id: { sensor: "$_id", start: { $meta: "stream.window.start" } } } },
    { $merge: { into: { connectionName: "atlas", db: outDb, coll } } },
  ];
}

const windowsOf = (coll: string) => writtenWindows(mongo.db(outDb).collection(coll), "sensor", BASE);
const expectedWindows = (all: readonly Event[]) => expectedWindowTotals(all, (e) => String(e.sensor), BASE);

const tookPartitions = (instance: Instance) =>
  instance.logs.filter((line) => line.includes('"scaled task took partitions"') && line.includes(scaled));

describe("one processor over three sp serve instances (options.parallelism)", () => {
  it(
    "gives every window of every key exactly as a single instance, through a SIGKILL and a late joiner",
    { timeout: 180_000 },
    async () => {
      const began = Date.now();
      const phases: string[] = [];
      const mark = (what: string) => phases.push(`${what} ${((Date.now() - began) / 1000).toFixed(1)} s`);
      const [a, b, c] = await Promise.all([serve("a"), serve("b"), serve("c")]);
      const all = [a, b, c];
      const dump = () =>
        all.flatMap((i) => i.logs.filter((l) => !/http request/.test(l)).map((l) => `${i.name}: ${l}`));
      (globalThis as { scaleDump?: () => string[] }).scaleDump = dump;
      (globalThis as { scaleStats?: () => Promise<unknown[]> }).scaleStats = () =>
        Promise.all(
          all
            .filter((i) => i.child.exitCode === null && i.child.signalCode === null)
            .map(async (i) => [
              i.name,
              (await i.call("GET", `/processors/${scaled}/stats?verbose=true`)).body,
            ]),
        );
      mark("servers up");
      await a.call("POST", "/connections", {
        name: "kafka",
        type: "Kafka",
        config: {
          bootstrapServers: testServices().kafkaBrokers.join(","),
          config: { "session.timeout.ms": 6_000, "heartbeat.interval.ms": 1_000 },
        },
      });
      await a.call("POST", "/connections", {
        name: "atlas",
        type: "Cluster",
        config: { uri: testServices().mongodbUri },
      });
      const created = await a.call("POST", "/processors", {
        name: scaled,
        pipeline: pipeline("scaled", uniqueName("g_scaled")),
        options: { parallelism: 3 },
      });
      expect(created.status).toBe(201);
      expect(
        (
          await a.call("POST", "/processors", {
            name: single,
            pipeline: pipeline("single", uniqueName("g_single")),
          })
        ).status,
      ).toBe(201);
      const first = events(0, 15);
      await produce(first);
      expect((await b.call("POST", `/processors/${scaled}:start`)).status).toBe(200);
      expect((await b.call("POST", `/processors/${single}:start`)).status).toBe(200);

      // Each instance runs one task: all three take part.
      await eventually(
        async () => ([a, b, c].every((i) => tookPartitions(i).length > 0) ? true : undefined),
        60_000,
        "three tasks on three instances",
      );
      mark("three tasks running");
      const scaledOut = mongo.db(outDb).collection("scaled");
      await eventually(
        async () => ((await scaledOut.countDocuments()) >= SENSORS * 5 ? true : undefined),
        60_000,
        "the first windows written",
      );
      mark("first windows");
      // The rest arrives in steps while c is killed and d joins, so both happen with records in flight.
      const second = events(15, 30);
      const feeding = (async () => {
        for (let s = 15; s < 30; s++) {
          await produce(events(s, s + 1));
          await new Promise((r) => setTimeout(r, 150));
        }
      })();
      await new Promise((r) => setTimeout(r, 400));
      c.child.kill("SIGKILL");
      mark("c killed");
      const d = await serve("d");
      all.push(d);
      mark("d started");
      await eventually(
        async () => (tookPartitions(d).length > 0 ? true : undefined),
        60_000,
        "the late instance to take a task",
      );
      mark("d took a task");
      await feeding;
      await produce(closers());
      const expected = expectedWindows([...first, ...second]);
      for (const coll of ["scaled", "single"]) {
        await eventually(
          async () => {
            const written = await windowsOf(coll);
            for (const key of expected.keys()) if (!written.has(key)) return undefined;
            return true;
          },
          90_000,
          `${expected.size} windows in ${coll}`,
        );
      }
      mark("all windows written");
      const fromScaled = await windowsOf("scaled");
      const fromSingle = await windowsOf("single");
      expect(fromScaled).toEqual(expected);
      expect(fromSingle).toEqual(expected);
      expect(fromScaled).toEqual(fromSingle);

      // Any instance's stats show every task: its instance and partitions (together all six), and its lag.
      const tasks = await eventually(
        async () => {
          const reply = (await a.call("GET", `/processors/${scaled}/stats`)).body.stats as {
            tasks?: Array<{ task: number; instance: string; partitions: number[]; lag: number }>;
          };
          const list = reply.tasks ?? [];
          const held = list.flatMap((t) => t.partitions).sort();
          // Lag (records not yet read) drains to 0 once the replays a rebalance caused are read.
          const drained = list.every((t) => t.lag === 0);
          return list.length === 3 && held.join(",") === "0,1,2,3,4,5" && drained ? list : undefined;
        },
        30_000,
        "three tasks holding all six partitions, drained, in the stats",
      );
      expect(new Set(tasks.map((t) => t.instance)).size).toBe(3);
      console.log(
        `scale-out: ${expected.size} windows equal a single instance's (${phases.join(", ")}); ` +
          `tasks: ${JSON.stringify(tasks)}`,
      );
      passed = true;
      for (const instance of [a, b, d]) instance.child.kill("SIGTERM");
    },
  );
});
