// The repartition topic on a real broker: created with the source's partition count, records land in the
// partition of their group key with their event time, and a reader's replay (records written again) is
// dropped on the reading side by source offset, also across a restart from a partition's positions.
import { Admin, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { FeedSource, PartitionFeed, RepartitionDecoder } from "../../src/connectors/kafka/partition-feed.ts";
import { KafkaRecordDecoder } from "../../src/connectors/kafka/record.ts";
import { KafkaSource } from "../../src/connectors/kafka/source.ts";
import {
  ensureRepartitionTopic,
  partitionOfKey,
  RepartitionSink,
} from "../../src/connectors/kafka/repartition.ts";
import type { Doc } from "../../src/mql/index.ts";
import type { SourceRecord } from "../../src/runtime/source.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { readerSourcePlan } from "./fixtures.ts";

const source = uniqueName("eddy_rp_src");
const topic = uniqueName("eddy_rp");
const group = uniqueName("eddy_rp_group");
const BASE = Date.UTC(2026, 0, 1);
const readerPlan = readerSourcePlan(source);
const sourceOptions = readerPlan.options;
const client = () =>
  kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-rp-test");

beforeAll(async () => {
  const admin = new Admin(client());
  await admin.createTopics({ topics: [source], partitions: 3, replicas: 1 });
  await admin.close();
});

afterAll(async () => {
  const admin = new Admin(client());
  await admin.deleteTopics({ topics: [source, topic] }).catch(() => undefined);
  await admin.close();
});

/** Records as the reader hands them to the sink: offsets `from`…`to - 1` of source partition 0. */
function docs(from: number, to: number): Doc[] {
  const out: Doc[] = [];
  for (let offset = from; offset < to; offset++)
    out.push({
      sensor: `s${offset % 4}`,
      n: offset,
      _ts: new Date(BASE + offset * 1000),
      _stream_meta: { source: { type: "kafka", topic: source, partition: 0, offset } },
    });
  return out;
}

/** Reads every partition until `count` records came (or `ms` passed). */
async function drain(
  sources: readonly FeedSource[],
  count: number,
  ms = 15_000,
): Promise<Array<[number, SourceRecord]>> {
  const got: Array<[number, SourceRecord]> = [];
  const deadline = Date.now() + ms;
  while (got.length < count && Date.now() < deadline)
    for (const s of sources) for (const r of (await s.next())?.records ?? []) got.push([s.partition, r]);
  return got;
}

async function openFeed(saved: ReadonlyMap<number, Doc> = new Map()) {
  const feed = new PartitionFeed(client(), { topic, groupId: group, onAssignment: () => undefined });
  await feed.start();
  const deadline = Date.now() + 15_000;
  while (feed.assigned().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const sourcePartitions = [0, 1, 2].map((p) => `${source}:${p}`);
  const sources = new Map(
    feed.assigned().map((p) => {
      const positions = saved.get(p);
      const decoder = new RepartitionDecoder(
        sourcePartitions,
        `${topic}:${p}`,
        positions?.taken as Doc,
        new KafkaRecordDecoder(sourceOptions),
      );
      return [p, new FeedSource(feed, { topic, partition: p }, decoder, positions)] as const;
    }),
  );
  await feed.open(sources);
  return { feed, sources: [...sources.values()] };
}

/** The topic's `retention.ms` as the broker reports it. */
async function retentionOf(name: string): Promise<string | null | undefined> {
  const admin = new Admin(client());
  try {
    const [resource] = await admin.describeConfigs({
      resources: [{ resourceType: 2, resourceName: name, configurationKeys: ["retention.ms"] }],
    });
    return resource.configs.find((config) => config.name === "retention.ms")?.value;
  } finally {
    await admin.close();
  }
}

describe("the repartition topic", () => {
  it("keeps its records without a time limit: their timestamps are event times, often older than the retention", async () => {
    const created = uniqueName("eddy_rp_retention");
    const earlier = uniqueName("eddy_rp_earlier");
    const admin = new Admin(client());
    // As an earlier Eddy created it: the broker's default time retention.
    await admin.createTopics({ topics: [earlier], partitions: 3, replicas: 1 });
    await admin.close();
    try {
      await ensureRepartitionTopic(client(), [source], created);
      await ensureRepartitionTopic(client(), [source], earlier);
      expect(await retentionOf(created)).toBe("-1");
      expect(await retentionOf(earlier)).toBe("-1");
    } finally {
      const cleanup = new Admin(client());
      await cleanup.deleteTopics({ topics: [created, earlier] }).catch(() => undefined);
      await cleanup.close();
    }
  });

  it(
    "re-keys records by group key and drops a replaying reader's duplicates",
    { timeout: 60_000 },
    async () => {
      const layout = await ensureRepartitionTopic(client(), [source], topic);
      expect(layout).toEqual({ partitions: 3, sourcePartitions: [0, 1, 2].map((p) => `${source}:${p}`) });
      // A second task finds it there.
      expect(await ensureRepartitionTopic(client(), [source], topic)).toEqual(layout);

      const sink = new RepartitionSink(client(), {
        topic,
        partitions: 3,
        key: (doc) => doc.sensor,
        tsFieldName: "_ts",
      });
      await sink.write(docs(0, 10));
      // The reader restarted from an older committed offset: 5…9 come again, then new ones.
      await sink.write(docs(5, 15));
      await sink.close();

      const first = await openFeed();
      const got = await drain(first.sources, 15);
      expect(got.map(([, r]) => (r.doc as Doc).n).sort((a, b) => Number(a) - Number(b))).toEqual([
        ...Array(15).keys(),
      ]);
      for (const [partition, record] of got) {
        const doc = record.doc as Doc;
        expect(partition).toBe(partitionOfKey(doc.sensor, 3));
        expect(record.timestamp).toBe(BASE + Number(doc.n) * 1000);
        // The watermark partition is the record's source partition; its meta is the original source's.
        expect(record.partition).toBe(`${source}:0`);
        expect(record.meta).toEqual({ type: "kafka", topic: source, partition: 0, offset: doc.n });
        expect(doc._ts).toEqual(new Date(BASE + Number(doc.n) * 1000));
      }
      // Nothing more: the 5 duplicates were dropped.
      expect(await drain(first.sources, 1, 1_500)).toEqual([]);
      const saved = new Map(first.sources.map((s) => [s.partition, s.positions()] as const));
      for (const s of first.sources) expect(s.partitions()).toEqual([0, 1, 2].map((p) => `${source}:${p}`));
      await first.feed.close();

      // A task taking the partitions over from their positions reads on where they stopped, and still
      // drops a replay of what the previous task took.
      const again = new RepartitionSink(client(), {
        topic,
        partitions: 3,
        key: (d) => d.sensor,
        tsFieldName: "_ts",
      });
      await again.write(docs(12, 20));
      await again.close();
      const second = await openFeed(saved);
      const more = await drain(second.sources, 5);
      expect(more.map(([, r]) => (r.doc as Doc).n).sort((a, b) => Number(a) - Number(b))).toEqual([
        15, 16, 17, 18, 19,
      ]);
      await second.feed.close();
    },
  );

  it(
    "forwards records that reach it unchanged as their source messages, decoded as the reader decoded them",
    { timeout: 60_000 },
    async () => {
      const forwarded = uniqueName("eddy_rp_fwd");
      const layout = await ensureRepartitionTopic(client(), [source], forwarded);
      // Source partition 1: keys, headers (one repeated) and Extended JSON values.
      const producer = new Producer({ ...client(), autocreateTopics: false });
      await producer.send({
        messages: Array.from({ length: 8 }, (_, n) => ({
          topic: source,
          partition: 1,
          key: n % 3 === 0 ? undefined : Buffer.from(`k${n}`),
          value: Buffer.from(
            JSON.stringify({ sensor: `s${n % 4}`, n, big: { $numberLong: "9007199254740993" } }),
          ),
          headers: new Map([
            [Buffer.from("trace"), Buffer.from(`t${n}`)],
            [Buffer.from("trace"), Buffer.from("again")],
          ]),
        })),
      });
      await producer.close();
      // The reader's source, remembering each record's message.
      const plan = readerPlan;
      const reader = new KafkaSource(client(), plan, {
        groupId: uniqueName("eddy_rp_reader"),
        keepsMessages: true,
      });
      await reader.start();
      const read: SourceRecord[] = [];
      const deadline = Date.now() + 15_000;
      while (read.length < 8 && Date.now() < deadline)
        for (const record of (await reader.next())?.records ?? [])
          if (record.partition === `${source}:1`) read.push(record);
      await reader.close();
      expect(read).toHaveLength(8);
      // What the reader's runtime hands the sink: the same documents, with `_ts` and `_stream_meta` added.
      const docsIn = read.map((record, n) => {
        const doc = record.doc as Doc;
        doc._ts = new Date(BASE + n * 1000);
        doc._stream_meta = { source: record.meta };
        return doc;
      });
      const sink = new RepartitionSink(client(), {
        topic: forwarded,
        partitions: layout.partitions,
        key: (doc) => doc.sensor,
        tsFieldName: "_ts",
        forwardsSourceMessages: true,
      });
      await sink.write(docsIn.slice(0, 5));
      await sink.write(docsIn.slice(3)); // a replay of 3 and 4: dropped
      await sink.flush();
      await sink.close();

      const feed = new PartitionFeed(client(), {
        topic: forwarded,
        groupId: uniqueName("eddy_rp_fwd_group"),
        onAssignment: () => undefined,
      });
      await feed.start();
      const assigned = Date.now() + 15_000;
      while (feed.assigned().length < 3 && Date.now() < assigned)
        await new Promise((r) => setTimeout(r, 100));
      const sources = new Map(
        feed.assigned().map((p) => {
          const decoder = new RepartitionDecoder(
            layout.sourcePartitions,
            `${forwarded}:${p}`,
            undefined,
            new KafkaRecordDecoder(sourceOptions),
          );
          return [p, new FeedSource(feed, { topic: forwarded, partition: p }, decoder, undefined)] as const;
        }),
      );
      await feed.open(sources);
      const got = await drain([...sources.values()], 8);
      expect(await drain([...sources.values()], 1, 1_500)).toEqual([]);
      await feed.close();
      const admin = new Admin(client());
      await admin.deleteTopics({ topics: [forwarded] }).catch(() => undefined);
      await admin.close();

      expect(got).toHaveLength(8);
      for (const [partition, record] of got) {
        const n = Number((record.doc as Doc).n);
        const original = read[n];
        expect(partition).toBe(partitionOfKey(`s${n % 4}`, 3));
        // As the reader decoded it: the source's meta (key and both headers), its watermark partition and size.
        expect(record.meta).toEqual(original.meta);
        expect(record.partition).toBe(`${source}:1`);
        expect(record.size).toBe(original.size);
        expect(record.timestamp).toBe(BASE + n * 1000);
        const { _ts, _stream_meta, ...fields } = docsIn[n];
        expect(record.doc).toEqual(Object.fromEntries(Object.entries(fields))); // the fields, not the kept message
        expect(_ts).toBeInstanceOf(Date);
        expect(_stream_meta).toBeDefined();
      }
    },
  );
});
