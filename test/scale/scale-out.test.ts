// Scale-out (docs/scale-out.md): three `sp serve` processes share one MongoDB state store and run one
// processor with `options.parallelism: 3` over a 6-partition topic. Its tumbling window groups by `sensor`,
// which is not the message key, so records are repartitioned through `eddy-<processor>-repartition`. One
// instance is killed with SIGKILL mid-run and a fourth joins later; every window of every sensor must come out
// exactly as a single-instance run (the same pipeline without parallelism, run alongside) and as computed.
import { Admin, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repartitionTopic } from "../../src/connectors/kafka/repartition.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { eventually } from "../server/helpers.ts";
import type { SharedServe } from "../support/sp-serve.ts";
import {
  BASE,
  kafkaClient,
  scaleConnections,
  sensorEvents,
  type SensorEvent,
  SharedStoreBed,
  windowClosers,
  windowPipeline,
} from "./fixtures.ts";
import { expectedWindows as expectedWindowTotals, untilWritten, writtenWindows } from "./window-totals.ts";

// Shorter than the groups' session timeout (6 s): the killed instance's task is taken, and its successor
// joins the groups, before the killed members' sessions end, so one rebalance both drops them and adds it
// (docs/scale-out.md, "Joining"). A longer pause than this only loses a lease that another instance wants.
const LEASE_TTL_MS = 3_000;
const SENSORS = 12;
const events = (from: number, to: number) => sensorEvents(SENSORS, from, to);
const closers = () => windowClosers(SENSORS);
const topic = uniqueName("eddy_scale");
const bed = new SharedStoreBed(testServices(), {
  topic,
  stateDb: uniqueName("eddy_scale_state"),
  outDb: uniqueName("eddy_scale_out"),
  leaseTtlMs: LEASE_TTL_MS,
  checkpointIntervalMs: 500,
});
const { outDb } = bed.options;
const serve = bed.serve;
const scaled = uniqueName("scaled").replace(/_/g, "-");
const single = uniqueName("single").replace(/_/g, "-");
/** The source's consumer group: the scaled processor's readers are its members. */
const readerGroup = uniqueName("g_scaled");
const kafka = () => kafkaClient(testServices(), "eddy-scale-test");

type Instance = SharedServe;

beforeAll(() => bed.setUp());

let passed = false;

afterAll(async () => {
  // On a failure: what the servers logged and what their stats said, to see where the run went wrong.
  const dump = (globalThis as { scaleDump?: () => string[] }).scaleDump;
  if (dump && !passed) console.log(dump().slice(-80).join("\n"));
  const stats = (globalThis as { scaleStats?: () => Promise<unknown[]> }).scaleStats;
  if (stats && !passed) console.log(JSON.stringify(await stats().catch((e: unknown) => String(e))));
  await bed.tearDown([repartitionTopic(scaled)]);
});

async function produce(docs: readonly SensorEvent[]): Promise<void> {
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

const pipeline = (coll: string, groupId: string) =>
  windowPipeline({ topic, groupBy: "$sensor", keyField: "sensor", outDb, coll, groupId });

const windowsOf = (coll: string) => writtenWindows(bed.mongo.db(outDb).collection(coll), "sensor", BASE);
const expectedWindows = (all: readonly SensorEvent[]) =>
  expectedWindowTotals(all, (e) => String(e.sensor), BASE);

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
      for (const connection of scaleConnections(testServices()))
        await a.call("POST", "/connections", connection);
      const created = await a.call("POST", "/processors", {
        name: scaled,
        pipeline: pipeline("scaled", readerGroup),
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
      const scaledOut = bed.mongo.db(outDb).collection("scaled");
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
      await untilWritten(windowsOf, expected, ["scaled", "single"]);
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
      // The readers rebalance incrementally, as the partitions do (asked once both groups are stable: a group
      // in a rebalance reports no protocol).
      const protocols = await eventually(
        async () => {
          const admin = new Admin(kafka());
          try {
            const groups = [
              ...(
                await admin.describeGroups({ groups: [readerGroup, `eddy-${scaled}-repartition-consumer`] })
              ).values(),
            ];
            return groups.every((group) => /^stable$/i.test(group.state))
              ? groups.map((group) => group.protocol)
              : undefined;
          } finally {
            await admin.close();
          }
        },
        30_000,
        "both consumer groups stable",
      );
      expect(protocols).toEqual(["cooperative-sticky", "cooperative-sticky"]);
      console.log(
        `scale-out: ${expected.size} windows equal a single instance's (${phases.join(", ")}); ` +
          `tasks: ${JSON.stringify(tasks)}`,
      );
      passed = true;
      for (const instance of [a, b, d]) instance.child.kill("SIGTERM");
    },
  );
});
