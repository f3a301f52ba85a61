// Scale-out without a repartition, and incremental rebalances (docs/scale-out.md): a tumbling window grouped
// by the Kafka message key needs no internal topic, since a key's records already share a source partition.
// Two `sp serve` processes share one MongoDB state store: the first runs the processor's only task over all
// six partitions, then a second joins; the cooperative-sticky assignment moves three partitions and the
// first task keeps the other three running (not restarted). Every window of every key must equal a
// single-instance run's, and no `eddy-<processor>-repartition` topic may exist.
import { Admin, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repartitionTopic } from "../../src/connectors/kafka/repartition.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { eventually } from "../server/helpers.ts";
import type { SharedServe } from "../support/sp-serve.ts";
import {
  BASE,
  kafkaClient,
  PARTITIONS,
  scaleConnections,
  SharedStoreBed,
  windowPipeline,
} from "./fixtures.ts";
import { expectedWindows as expectedWindowTotals, untilWritten, writtenWindows } from "./window-totals.ts";

const DEVICES = 12;
const topic = uniqueName("eddy_scale_key");
const bed = new SharedStoreBed(testServices(), {
  topic,
  stateDb: uniqueName("eddy_scale_key_state"),
  outDb: uniqueName("eddy_scale_key_out"),
  leaseTtlMs: 15_000,
  checkpointIntervalMs: 500,
});
const { outDb } = bed.options;
const serve = bed.serve;
const scaled = uniqueName("bykey").replace(/_/g, "-");
const single = uniqueName("bykey1").replace(/_/g, "-");
const kafka = () => kafkaClient(testServices(), "eddy-scale-key-test");

interface Event {
  readonly device: number;
  readonly ts: number;
  readonly value: number;
}

beforeAll(() => bed.setUp());

afterAll(() => bed.tearDown());

/** Event seconds [from, to): every device every 100 ms. */
function events(from: number, to: number): Event[] {
  const out: Event[] = [];
  for (let t = from * 10; t < to * 10; t++)
    for (let device = 0; device < DEVICES; device++) out.push({ device, ts: BASE + t * 100, value: t % 89 });
  return out;
}

/** Device d's messages are keyed `device-<d>` and all go to partition d % 6, as a key partitioner puts them. */
async function produce(docs: readonly Event[]): Promise<void> {
  const producer = new Producer({ ...kafka(), autocreateTopics: false });
  await producer.send({
    messages: docs.map((doc) => ({
      topic,
      partition: doc.device % PARTITIONS,
      key: Buffer.from(`device-${doc.device}`),
      value: Buffer.from(JSON.stringify(doc)),
    })),
  });
  await producer.close();
}

/** One far-future event for a device of every partition: closes every earlier window. */
const closers = (): Event[] =>
  [...Array(PARTITIONS).keys()].map((device) => ({ device, ts: BASE + 3_600_000, value: 0 }));

const pipeline = (coll: string) =>
  windowPipeline({ topic, groupBy: "$_stream_meta.source.key", keyField: "key", outDb, coll });

const windowsOf = (coll: string) => writtenWindows(bed.mongo.db(outDb).collection(coll), "key", BASE);
const expectedWindows = (all: readonly Event[]) =>
  expectedWindowTotals(all, (e) => `device-${e.device}`, BASE);

interface Moves {
  readonly partitions: number[];
  readonly started: number[];
  readonly stopped: number[];
}

/** What the instance's task of the scaled processor did at each rebalance, in order. */
function movesOf(instance: SharedServe): Moves[] {
  return instance.logs
    .filter((line) => line.includes(scaled) && /"scaled task (took|released) partitions"/.test(line))
    .map((line) => JSON.parse(line) as Moves);
}

describe("a scaled processor grouped by the Kafka message key", () => {
  it(
    "uses no repartition topic, keeps the partitions that stay on a join running, and equals a single run",
    { timeout: 180_000 },
    async () => {
      const a = await serve("a");
      for (const connection of scaleConnections(testServices()))
        await a.call("POST", "/connections", connection);
      const create = (name: string, coll: string, options?: unknown) =>
        a.call("POST", "/processors", { name, pipeline: pipeline(coll), ...(options ? { options } : {}) });
      expect((await create(scaled, "scaled", { parallelism: 2 })).status).toBe(201);
      expect((await create(single, "single")).status).toBe(201);
      const first = events(0, 10);
      await produce(first);
      expect((await a.call("POST", `/processors/${scaled}:start`)).status).toBe(200);
      expect((await a.call("POST", `/processors/${single}:start`)).status).toBe(200);

      // Alone, a's task holds all six partitions.
      await eventually(
        async () => (movesOf(a).at(-1)?.partitions.length === PARTITIONS ? true : undefined),
        60_000,
        "a's task on all six partitions",
      );
      const scaledOut = bed.mongo.db(outDb).collection("scaled");
      await eventually(
        async () => ((await scaledOut.countDocuments()) >= DEVICES * 3 ? true : undefined),
        60_000,
        "the first windows",
      );

      // b joins: three partitions move to it; a stops only those.
      const b = await serve("b");
      await eventually(
        async () =>
          movesOf(b).at(-1)?.partitions.length === PARTITIONS / 2 &&
          movesOf(a).at(-1)?.partitions.length === PARTITIONS / 2
            ? true
            : undefined,
        60_000,
        "three partitions on each instance",
      );
      const second = events(10, 20);
      await produce(second);
      await produce(closers());

      const expected = expectedWindows([...first, ...second]);
      await untilWritten(windowsOf, expected, ["scaled", "single"]);
      const fromScaled = await windowsOf("scaled");
      expect(fromScaled).toEqual(expected);
      expect(fromScaled).toEqual(await windowsOf("single"));

      // What the two tasks did at each rebalance, as they logged it.
      const movesA = movesOf(a);
      const movesB = movesOf(b);
      console.log(
        `message key: ${expected.size} windows; a: ${JSON.stringify(movesA)}; b: ${JSON.stringify(movesB)}; ` +
          `a's warnings: ${JSON.stringify(a.logs.filter((line) => /"level":"(warn|error)"/.test(line)))}`,
      );
      expect([...movesA.at(-1)!.partitions, ...movesB.at(-1)!.partitions].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(movesA[0].started).toEqual([0, 1, 2, 3, 4, 5]);
      // b's join revoked only some of a's partitions; the ones a kept ran on through it, not restarted. (Later
      // rebalances are the client's and the machine's: its cooperative-sticky assignor may reshuffle, and under
      // load a member that missed its session rejoins with nothing. Neither changes the results above.)
      const join = movesA[1];
      const kept = movesA[0].started.filter((partition) => !join.stopped.includes(partition));
      expect(kept.length).toBeGreaterThan(0);
      expect(join.partitions).toEqual(expect.arrayContaining(kept));
      expect(join.started.filter((partition) => kept.includes(partition))).toEqual([]);

      // No internal topic: the records never left their source partitions. The group rebalances cooperatively.
      const admin = new Admin(kafka());
      const topics = await admin.listTopics();
      const group = (await admin.describeGroups({ groups: [`asp-${scaled}-consumer`] })).get(
        `asp-${scaled}-consumer`,
      );
      await admin.close();
      expect(group?.protocol).toBe("cooperative-sticky");
      expect(group?.members.size).toBe(2);
      expect(topics).toContain(topic);
      expect(topics).not.toContain(repartitionTopic(scaled));

      // Dropping it deletes the consumer group Eddy named for it and says so.
      expect((await a.call("POST", `/processors/${scaled}:stop`)).status).toBe(200);
      const dropped = await a.call("DELETE", `/processors/${scaled}`);
      expect(dropped.status).toBe(200);
      expect(dropped.body.kafka).toEqual(
        expect.arrayContaining([
          { kind: "topic", name: repartitionTopic(scaled), result: "absent" },
          { kind: "consumer group", name: `asp-${scaled}-consumer`, result: "deleted" },
        ]),
      );
      const groups = new Admin(kafka());
      expect([...(await groups.listGroups()).keys()]).not.toContain(`asp-${scaled}-consumer`);
      await groups.close();
      for (const instance of [a, b]) instance.child.kill("SIGTERM");
    },
  );
});
