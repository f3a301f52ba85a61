// The repartition reader's rebalances, on a real broker (docs/scale-out.md, "Rebalance"): a task's reader is a
// member of the source's consumer group, and when another task's reader joins, the group moves only the
// partitions it must (cooperative-sticky). A reader keeps reading the partitions it keeps where it was: none of
// their records is handed over (hence written to the repartition topic) twice, and it never takes a partition
// it did not hold. With an eager round-robin group, a third reader's join reshuffles every member's partitions.
import { Admin, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaSource } from "../../src/connectors/kafka/source.ts";
import type { Doc } from "../../src/mql/index.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { createTopic, deleteTopics, kafkaClient, PARTITIONS, readerSourcePlan } from "./fixtures.ts";

const topic = uniqueName("eddy_reader_rb");
const group = uniqueName("eddy_reader_rb_group");
const client = (id: string) => kafkaClient(testServices(), `eddy-reader-rb-${id}`);
const plan = readerSourcePlan(topic);

beforeAll(async () => {
  await createTopic(testServices(), topic, PARTITIONS);
});

afterAll(async () => {
  await deleteTopics(testServices(), [topic]);
});

/** `count` records on every partition (offsets `from`… of each). */
async function produce(from: number, count: number): Promise<void> {
  // Idempotent: a send retried on a loaded machine must not write the records twice.
  const producer = new Producer({ ...client("producer"), autocreateTopics: false, idempotent: true });
  await producer.send({
    messages: [...Array(PARTITIONS).keys()].flatMap((partition) =>
      [...Array(count).keys()].map((i) => ({
        topic,
        partition,
        value: Buffer.from(JSON.stringify({ partition, offset: from + i })),
      })),
    ),
  });
  await producer.close();
}

/** A task's reader as a scaled-out processor runs it, reading in the background; the offsets it handed over, by partition. */
function reader(id: string) {
  const source = new KafkaSource(client(id), plan, {
    groupId: group,
    tuning: { sessionTimeout: 6_000, heartbeatInterval: 500, rebalanceTimeout: 30_000 },
    incrementalRebalance: true,
    idleWaitMs: 100,
  });
  const read = new Map<number, number[]>();
  let running = true;
  const loop = (async () => {
    await source.start();
    while (running)
      for (const record of (await source.next())?.records ?? []) {
        const partition = Number((record.doc as Doc).partition);
        read.set(partition, [...(read.get(partition) ?? []), Number((record.meta as Doc).offset)]);
      }
  })();
  const held = () =>
    source
      .partitions()
      .map((key) => Number(key.slice(key.lastIndexOf(":") + 1)))
      .sort((a, b) => a - b);
  return {
    read,
    held,
    close: async () => {
      running = false;
      await loop;
      await source.close();
    },
  };
}

async function until(check: () => boolean, what: string, state: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${state()})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const range = (from: number, to: number) => [...Array(to - from).keys()].map((i) => from + i);

describe("a scaled-out processor's reader", () => {
  it(
    "keeps reading the partitions it keeps when other readers join, handing none of their records over twice",
    { timeout: 120_000 },
    async () => {
      await produce(0, 20);
      const first = reader("first");
      const readers = [first];
      const state = () =>
        readers.map((r) => `[${r.held().join(",")}] read ${JSON.stringify([...r.read])}`).join("; ");
      try {
        await until(
          () => first.held().length === PARTITIONS && [...first.read.values()].flat().length === 120,
          "the first reader on all six partitions",
          state,
        );
        const second = reader("second");
        readers.push(second);
        await until(
          () => first.held().length === 3 && second.held().length === 3,
          "three partitions each",
          state,
        );
        const keptOnce = first.held();
        const secondOnce = second.held();
        await produce(20, 10);
        const third = reader("third");
        readers.push(third);
        await until(() => readers.every((r) => r.held().length === 2), "two partitions each", state);
        const kept = first.held();
        await produce(30, 10);
        await until(
          () => kept.every((partition) => (first.read.get(partition)?.length ?? 0) >= 40),
          "the kept partitions read to the end",
          state,
        );
        await new Promise((resolve) => setTimeout(resolve, 1_000));

        // Each join only took partitions away from the first reader: it gave none back, took none new.
        expect(keptOnce).toEqual(expect.arrayContaining(kept));
        // What it kept throughout, it read once, in order, across both rebalances: nothing was read again.
        for (const partition of kept) expect(first.read.get(partition)).toEqual(range(0, 40));
        // So did the second: it kept two of its three.
        expect(secondOnce).toEqual(expect.arrayContaining(second.held()));
        // Together the readers hold every partition once.
        expect(readers.flatMap((r) => r.held()).sort((a, b) => a - b)).toEqual(range(0, PARTITIONS));
        const admin = new Admin(client("admin"));
        const described = (await admin.describeGroups({ groups: [group] })).get(group);
        await admin.close();
        expect(described?.protocol).toBe("cooperative-sticky");
      } finally {
        for (const r of readers.reverse()) await r.close();
      }
    },
  );
});
