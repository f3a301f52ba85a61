import { Admin, Consumer, Producer } from "@platformatic/kafka";
import { Binary } from "bson";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../../src/connectors/kafka/connection.ts";
import {
  FETCH_BYTES_PER_PARTITION,
  KafkaSource,
  type KafkaSourcePlan,
} from "../../../src/connectors/kafka/source.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import type { SourceRecord } from "../../../src/runtime/source.ts";
import { testServices, uniqueName } from "../../support/services.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";
import { cutBrokerConnections } from "./cut-connections.ts";

const catalog = new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]);
const client = (id: string) =>
  kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, id);

function sourcePlan(source: Doc): KafkaSourcePlan {
  const plan = planProcessor(
    { name: "ksrc", pipeline: [{ $source: { connectionName: "k", ...source } }] },
    {
      connectors: CONNECTORS,
      connections: catalog,
      ephemeral: true,
    },
  );
  if (plan.source.type !== "Kafka") throw new Error("expected a Kafka source");
  return plan.source as KafkaSourcePlan;
}

async function produce(
  topic: string,
  messages: Array<{ key?: Buffer; value: string; headers?: Map<Buffer, Buffer> }>,
) {
  const producer = new Producer({ ...client("eddy-test-producer"), autocreateTopics: true });
  await producer.send({ messages: messages.map((m) => ({ topic, ...m, value: Buffer.from(m.value) })) });
  await producer.close();
}

async function produceTo(topic: string, partition: number, values: readonly string[]) {
  const producer = new Producer({ ...client("eddy-test-producer"), autocreateTopics: false });
  await producer.send({ messages: values.map((value) => ({ topic, partition, value: Buffer.from(value) })) });
  await producer.close();
}

async function read(source: KafkaSource, count: number): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for (let i = 0; i < 60 && records.length < count; i++)
    records.push(...((await source.next())?.records ?? []));
  return records;
}

/** Session settings that make a group notice joins and departures within seconds. */
const tuning = { sessionTimeout: 6_000, heartbeatInterval: 500, rebalanceTimeout: 6_000 };

/** A 2-partition topic with records n = 0..3 in each partition, and a send of more. */
async function twoPartitions(name: string) {
  const topic = uniqueName(name);
  const admin = new Admin(client(`eddy-test-${name}-admin`));
  await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
  await admin.close();
  const send = (partition: number, from: number) =>
    produceTo(
      topic,
      partition,
      [0, 1, 2, 3].map((n) => JSON.stringify({ n: from + n })),
    );
  await send(0, 0);
  await send(1, 0);
  return { topic, send };
}

describe("KafkaSource", () => {
  it("reads JSON documents with their key, headers and position, and dead-letters bad values", async () => {
    const topic = uniqueName("src");
    const intKey = Buffer.from([0, 0, 0, 7]);
    await produce(topic, [
      {
        key: intKey,
        value: '{"a":1,"when":{"$date":"2024-01-01T00:00:00Z"}}',
        headers: new Map([[Buffer.from("h"), Buffer.from("v")]]),
      },
      { value: "not json" },
      { key: Buffer.from([1]), value: '{"a":3}' },
    ]);
    const source = new KafkaSource(
      client("eddy-test-src"),
      sourcePlan({ topic, config: { auto_offset_reset: "earliest", keyFormat: "int" } }),
      { fallbackGroupId: uniqueName("g") },
    );
    await source.start();
    const records = await read(source, 3);
    await source.close();

    expect(records[0].doc).toEqual({ a: 1, when: new Date("2024-01-01T00:00:00Z") });
    expect(records[0].partition).toBe(`${topic}:0`);
    expect(records[0].meta).toMatchObject({ topic, partition: 0, offset: 0, key: 7 });
    expect(
      ((records[0].meta?.headers as Array<{ k: string; v: Binary }>)[0].v as Binary).value().toString(),
    ).toBe("v");
    expect(records[1].doc).toBeUndefined();
    expect(records[1].error?.raw).toEqual({ base64: Buffer.from("not json").toString("base64") });
    expect(records[1].meta).toMatchObject({ offset: 1 });
    expect(records[2].error?.message).toContain("keyFormat int");
    expect(source.positions()).toEqual({ offsets: { [`${topic}:0`]: "3" } });
  });

  it("reads a backlog several times the per-partition fetch bound, every record once and in order", async () => {
    const topic = uniqueName("src_backlog");
    const padding = "x".repeat(400);
    const count = Math.ceil((3 * FETCH_BYTES_PER_PARTITION) / padding.length);
    const messages = Array.from({ length: count }, (_, i) => ({ value: JSON.stringify({ i, padding }) }));
    for (let start = 0; start < count; start += 2000)
      await produce(topic, messages.slice(start, start + 2000));
    const source = new KafkaSource(
      client("eddy-test-src"),
      sourcePlan({ topic, config: { auto_offset_reset: "earliest" } }),
      { fallbackGroupId: uniqueName("g"), maxBatchSize: 1000 },
    );
    await source.start();
    const records = await read(source, count);
    await source.close();

    expect(records.map((r) => r.doc?.i)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(source.positions()).toEqual({ offsets: { [`${topic}:0`]: String(count) } });
  });

  it("passes bad keys through with keyFormatError passThrough", async () => {
    const topic = uniqueName("pass");
    await produce(topic, [{ key: Buffer.from([1]), value: '{"a":1}' }]);
    const source = new KafkaSource(
      client("eddy-test-pass"),
      sourcePlan({
        topic,
        config: { auto_offset_reset: "earliest", keyFormat: "long", keyFormatError: "passThrough" },
      }),
      { fallbackGroupId: uniqueName("g") },
    );
    await source.start();
    const [record] = await read(source, 1);
    await source.close();
    expect(record.doc).toEqual({ a: 1 });
    expect(record.meta?.key).toBeUndefined();
  });

  it("resumes from checkpointed offsets, else from the group's acknowledged offsets", async () => {
    const topic = uniqueName("resume");
    const group = uniqueName("g");
    await produce(
      topic,
      [0, 1, 2, 3].map((n) => ({ value: JSON.stringify({ n }) })),
    );
    const plan = sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: group } });

    const first = new KafkaSource(client("eddy-test-r1"), plan, { maxBatchSize: 2 });
    await first.start();
    const firstBatch = (await first.next())?.records ?? [];
    // Offsets reach the group only through acknowledge (after a checkpoint), never on close.
    await first.acknowledge(first.positions());
    await first.close();
    expect(firstBatch.map((r) => r.doc?.n)).toEqual([0, 1]);

    const fromGroup = new KafkaSource(client("eddy-test-r2"), plan);
    await fromGroup.start();
    expect((await read(fromGroup, 2)).map((r) => r.doc?.n)).toEqual([2, 3]);
    await fromGroup.close();

    const fromCheckpoint = new KafkaSource(client("eddy-test-r3"), plan, {
      startOffsets: { [`${topic}:0`]: "1" },
    });
    await fromCheckpoint.start();
    expect((await read(fromCheckpoint, 3)).map((r) => r.doc?.n)).toEqual([1, 2, 3]);
    await fromCheckpoint.close();
  });

  it("starts a partition its checkpoint does not name at the group's committed offset", async () => {
    const topic = uniqueName("unnamed");
    const group = uniqueName("g");
    const admin = new Admin(client("eddy-test-unnamed-admin"));
    await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
    await admin.close();
    for (const partition of [0, 1])
      await produceTo(
        topic,
        partition,
        [0, 1, 2, 3].map((n) => JSON.stringify({ n })),
      );
    const plan = sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: group } });
    // Another member of the group committed partition 1 at 2; this processor's checkpoint names only 0.
    const other = new KafkaSource(client("eddy-test-unnamed-other"), plan);
    await other.start();
    await other.acknowledge({ offsets: { [`${topic}:0`]: "3", [`${topic}:1`]: "2" } });
    await other.close();

    const source = new KafkaSource(client("eddy-test-unnamed"), plan, {
      startOffsets: { [`${topic}:0`]: "1" },
    });
    await source.start();
    try {
      const records = await read(source, 5);
      const values = (partition: number) =>
        records.filter((r) => r.partition === `${topic}:${partition}`).map((r) => r.doc?.n);
      expect(values(0)).toEqual([1, 2, 3]);
      expect(values(1)).toEqual([2, 3]);
    } finally {
      await source.close();
    }
  });

  it("restarts a partition at auto_offset_reset when its checkpointed offset is out of range", async () => {
    const topic = uniqueName("out-of-range");
    await produce(
      topic,
      [0, 1, 2].map((n) => ({ value: JSON.stringify({ n }) })),
    );
    // A checkpoint past the log end (the topic was recreated, or its records were deleted meanwhile).
    const source = new KafkaSource(
      client("eddy-test-oor"),
      sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: uniqueName("g") } }),
      { startOffsets: { [`${topic}:0`]: "1000" } },
    );
    await source.start();
    try {
      const records = await read(source, 3);
      expect(records.map((r) => r.doc?.n)).toEqual([0, 1, 2]);
      expect(source.positions()).toEqual({ offsets: { [`${topic}:0`]: "3" } });
    } finally {
      await source.close();
    }
  });

  it("commits only the partitions it holds: a partition that moved keeps its new owner's offset", async () => {
    const { topic, send } = await twoPartitions("moved");
    const group = uniqueName("g");
    const plan = sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: group } });
    // Alone in the group, the first member reads both partitions and checkpoints them at offset 4.
    const first = new KafkaSource(client("eddy-test-moved-1"), plan, { tuning });
    await first.start();
    expect(await read(first, 8)).toHaveLength(8);
    const checkpointed = first.positions();
    await first.acknowledge(checkpointed);

    // A second member joins: one partition moves to it, and it reads that partition on.
    const second = new KafkaSource(client("eddy-test-moved-2"), plan, { tuning });
    await second.start();
    for (let i = 0; i < 100 && (second.partitions().length !== 1 || first.partitions().length !== 1); i++)
      await Promise.all([first.next(), second.next()]);
    expect([...first.partitions(), ...second.partitions()].sort()).toEqual([`${topic}:0`, `${topic}:1`]);
    const moved = second.partitions()[0];
    const movedPartition = Number(moved.slice(moved.lastIndexOf(":") + 1));
    await send(movedPartition, 4);
    expect(await read(second, 4)).toHaveLength(4);
    await second.acknowledge(second.positions());

    // The first member's next checkpoint still names the moved partition at 4: it must not commit it.
    expect((checkpointed.offsets as Doc)[moved]).toBe("4");
    await first.acknowledge(checkpointed);
    const reader = new Consumer({ ...client("eddy-test-moved-offsets"), groupId: group });
    const committed = await reader.listCommittedOffsets({
      topics: [{ topic, partitions: [movedPartition] }],
    });
    await reader.close(true);
    await Promise.all([first.close(), second.close()]);
    expect(committed.get(topic)?.[movedPartition]).toBe(8n);
  });

  it("reads a partition the topic gains while it runs", async () => {
    const topic = uniqueName("grows");
    const admin = new Admin(client("eddy-test-grows-admin"));
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    const source = new KafkaSource(
      client("eddy-test-grows"),
      sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: uniqueName("g") } }),
      { tuning, lagIntervalMs: 500 },
    );
    await source.start();
    try {
      await source.next();
      await admin.createPartitions({ topics: [{ name: topic, count: 2 }] });
      await produceTo(
        topic,
        1,
        ["0", "1", "2"].map((n) => JSON.stringify({ n: Number(n) })),
      );
      const records: SourceRecord[] = [];
      for (let i = 0; i < 40 && records.length < 3; i++)
        records.push(...((await source.next())?.records ?? []));
      expect(source.partitions()).toEqual([`${topic}:0`, `${topic}:1`]);
      expect(records.map((r) => [r.partition, r.doc?.n])).toEqual([0, 1, 2].map((n) => [`${topic}:1`, n]));
    } finally {
      await Promise.all([source.close(), admin.close()]);
    }
  });

  describe("a partition the group takes away and gives back", () => {
    /** Calls `next()` on each member, keeping what each reads, until `done` or 100 rounds. */
    async function readOn(
      members: ReadonlyArray<readonly [KafkaSource, SourceRecord[]]>,
      done: () => boolean,
    ): Promise<void> {
      for (let i = 0; i < 100 && !done(); i++)
        await Promise.all(
          members.map(async ([source, records]) => records.push(...((await source.next())?.records ?? []))),
        );
    }

    const values = (records: readonly SourceRecord[], key: string) =>
      records.filter((r) => r.partition === key).map((r) => r.doc?.n);

    /**
     * Member A holds both partitions; B joins and takes one; B leaves and A gets it back. `whileAway` runs
     * while B holds it. Returns everything A read, with the partition that moved and the one A kept.
     */
    async function moveAndReturn(
      a: KafkaSource,
      b: KafkaSource,
      whileAway: (moved: string, bRecords: SourceRecord[]) => Promise<void>,
    ): Promise<{ aRecords: SourceRecord[]; moved: string; kept: string }> {
      const aRecords: SourceRecord[] = [];
      const bRecords: SourceRecord[] = [];
      await b.start();
      await readOn(
        [
          [a, aRecords],
          [b, bRecords],
        ],
        () => a.partitions().length === 1 && b.partitions().length === 1,
      );
      const [moved] = b.partitions();
      const [kept] = a.partitions();
      expect([moved, kept].sort()).toHaveLength(2);
      await whileAway(moved, bRecords);
      await b.close();
      await readOn([[a, aRecords]], () => a.partitions().length === 2);
      expect(a.partitions()).toContain(moved);
      return { aRecords, moved, kept };
    }

    it("continues at the offset the other member committed, not where it started", async () => {
      const { topic, send } = await twoPartitions("comes-back");
      const group = uniqueName("g");
      const plan = sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: group } });
      // A starts from a checkpoint: the offsets it was opened with must not serve the partition that returns.
      const a = new KafkaSource(client("eddy-test-back-a"), plan, {
        tuning,
        startOffsets: { [`${topic}:0`]: "0", [`${topic}:1`]: "0" },
      });
      const b = new KafkaSource(client("eddy-test-back-b"), plan, { tuning });
      await a.start();
      try {
        const before = await read(a, 8);
        expect(before).toHaveLength(8);
        await a.acknowledge(a.positions());
        const partitionOf = (key: string) => Number(key.slice(key.lastIndexOf(":") + 1));

        const { aRecords, moved, kept } = await moveAndReturn(a, b, async (moved, bRecords) => {
          // B reads on from A's committed offset 4 and commits 8.
          await send(partitionOf(moved), 4);
          await readOn([[b, bRecords]], () => bRecords.length >= 4);
          expect(values(bRecords, moved)).toEqual([4, 5, 6, 7]);
          await b.acknowledge(b.positions());
        });
        await send(partitionOf(moved), 8);
        await readOn([[a, aRecords]], () => values(aRecords, moved).includes(11));

        const all = [...before, ...aRecords];
        expect(values(all, moved)).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
        expect(values(all, kept)).toEqual([0, 1, 2, 3]);
        expect(a.positions()).toEqual({ offsets: { [moved]: "12", [kept]: "4" } });
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("drops what it fetched of a partition taken away, which its new holder reads", async () => {
      const { topic, send } = await twoPartitions("taken-away");
      const group = uniqueName("g");
      const plan = sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: group } });
      // Cooperative: the partition leaves A (a revoking round) before B gets it. A holds at most 2 × 4
      // records, then its fetcher waits, and sees the revocation as it comes.
      const options = { tuning, incrementalRebalance: true, maxBatchSize: 4 };
      const a = new KafkaSource(client("eddy-test-away-a"), plan, options);
      const b = new KafkaSource(client("eddy-test-away-b"), plan, options);
      await a.start();
      try {
        expect(await read(a, 8)).toHaveLength(8);
        await a.acknowledge(a.positions());
        await Promise.all([send(0, 4), send(1, 4)]);
        await sleep(1_000); // A fetches them, and hands none over
        const bRecords: SourceRecord[] = [];
        await b.start();
        await readOn([[b, bRecords]], () => b.partitions().length === 1 && bRecords.length >= 4);
        const [moved] = b.partitions();
        const [kept] = a.partitions();
        expect(values(bRecords, moved)).toEqual([4, 5, 6, 7]);

        const aRecords: SourceRecord[] = [];
        await readOn([[a, aRecords]], () => values(aRecords, kept).length >= 4);
        expect(values(aRecords, moved)).toEqual([]);
        expect(values(aRecords, kept)).toEqual([4, 5, 6, 7]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("continues where it left it when the other member committed nothing", async () => {
      const { topic, send } = await twoPartitions("comes-back-uncommitted");
      const group = uniqueName("g");
      const plan = sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: group } });
      const a = new KafkaSource(client("eddy-test-back-a"), plan, { tuning });
      const b = new KafkaSource(client("eddy-test-back-b"), plan, { tuning });
      await a.start();
      try {
        const before = await read(a, 8);
        expect(before).toHaveLength(8);
        // A's last checkpoint covers only the first two records of each partition; it handed over four.
        await a.acknowledge({ offsets: { [`${topic}:0`]: "2", [`${topic}:1`]: "2" } });
        const partitionOf = (key: string) => Number(key.slice(key.lastIndexOf(":") + 1));

        // B starts the partition at the committed 2 and commits nothing.
        const { aRecords, moved, kept } = await moveAndReturn(a, b, async () => undefined);
        await send(partitionOf(moved), 4);
        await readOn([[a, aRecords]], () => values(aRecords, moved).includes(7));

        const all = [...before, ...aRecords];
        expect(values(all, moved)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        expect(values(all, kept)).toEqual([0, 1, 2, 3]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });

  describe("its broker connections cut mid-stream (the fetcher reopens)", () => {
    const values = (records: readonly SourceRecord[], key: string) =>
      records.filter((r) => r.partition === key).map((r) => r.doc?.n);

    it("hands over every record once, those it had fetched and not handed over included", async () => {
      const topic = uniqueName("cut");
      const count = 500;
      await produce(
        topic,
        Array.from({ length: count }, (_, n) => ({ value: JSON.stringify({ n }) })),
      );
      const reasons: string[] = [];
      const source = new KafkaSource(
        client("eddy-test-cut"),
        sourcePlan({ topic, config: { auto_offset_reset: "earliest", group_id: uniqueName("g") } }),
        { maxBatchSize: 20, onReconnect: (reason) => reasons.push(reason) },
      );
      await source.start();
      try {
        // One fetch brings all 500 records (far below the fetch bound): after two batches of 20, the other
        // 460 wait in the source, fetched and not handed over, when the connections drop.
        const before = await read(source, 40);
        expect(before).toHaveLength(40);
        cutBrokerConnections();
        await produce(
          topic,
          Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ n: count + i }) })),
        );
        const after: SourceRecord[] = [];
        const last = count + 99;
        for (let i = 0; i < 200 && after.at(-1)?.doc?.n !== last; i++)
          after.push(...((await source.next())?.records ?? []));

        expect(reasons.length).toBeGreaterThan(0);
        expect(values([...before, ...after], `${topic}:0`)).toEqual(
          Array.from({ length: count + 100 }, (_, n) => n),
        );
        expect(source.positions()).toEqual({ offsets: { [`${topic}:0`]: String(count + 100) } });
      } finally {
        await source.close();
      }
    });

    it("starts a partition first assigned after the reconnect at the group's committed offset", async () => {
      const { topic, send } = await twoPartitions("cut-new");
      const group = uniqueName("g");
      // `latest`: a partition started at auto_offset_reset instead of the committed offset would lose records.
      const plan = sourcePlan({ topic, config: { auto_offset_reset: "latest", group_id: group } });
      const reasons: string[] = [];
      const a = new KafkaSource(client("eddy-test-cut-a"), plan, {
        tuning,
        onReconnect: (reason) => reasons.push(reason),
      });
      const b = new KafkaSource(client("eddy-test-cut-b"), plan, { tuning });
      await b.start();
      try {
        // B holds both partitions, then A joins and takes one: A never held the other.
        await a.start();
        for (let i = 0; i < 100 && (a.partitions().length !== 1 || b.partitions().length !== 1); i++)
          await Promise.all([a.next(), b.next()]);
        const [kept] = a.partitions();
        const [other] = b.partitions();
        expect([kept, other].sort()).toEqual([`${topic}:0`, `${topic}:1`]);
        const partitionOf = (key: string) => Number(key.slice(key.lastIndexOf(":") + 1));
        // B's last checkpoint covers the first two records of its partition.
        await b.acknowledge({ offsets: { [other]: "2" } });

        // A loses its connections; B leaves meanwhile, and the group gives A both partitions.
        cutBrokerConnections();
        await b.close();
        for (let i = 0; i < 200 && a.partitions().length !== 2; i++) await sleep(100);
        expect(a.partitions()).toHaveLength(2);
        await Promise.all([send(partitionOf(kept), 4), send(partitionOf(other), 4)]);
        const aRecords: SourceRecord[] = [];
        for (
          let i = 0;
          i < 20 && !(values(aRecords, other).includes(7) && values(aRecords, kept).includes(7));
          i++
        )
          aRecords.push(...((await a.next())?.records ?? []));

        expect(reasons.length).toBeGreaterThan(0);
        expect(values(aRecords, other)).toEqual([2, 3, 4, 5, 6, 7]);
        expect(values(aRecords, kept)).toEqual([4, 5, 6, 7]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
});
