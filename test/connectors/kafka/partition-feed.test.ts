// A scaled-out task's partition feed reads through Eddy's fetch path (fetcher.ts), as the $source does, on
// a real broker: it hands over exactly what a KafkaSource reading the same topic hands over (records, offsets,
// keys, headers, timestamps), including where the client's consumer stream differed (LogAppendTime: the
// broker's append time, not the producer's timestamp) and where the feed itself differed (a checkpointed
// position out of range restarts at the fallback instead of skipping everything below the old position).
import { Admin, Producer } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import {
  FeedSource,
  PartitionFeed,
  SourceTopicDecoder,
} from "../../../src/connectors/kafka/partition-feed.ts";
import { KafkaRecordDecoder } from "../../../src/connectors/kafka/record.ts";
import { KafkaSource, type KafkaSourcePlan } from "../../../src/connectors/kafka/source.ts";
import { transactionalProducer } from "../../../src/connectors/kafka/transactions.ts";
import { CONNECTORS } from "../../../src/connectors/registry.ts";
import type { Doc } from "../../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../../src/pipeline/index.ts";
import type { Source, SourceRecord } from "../../../src/runtime/source.ts";
import { testKafkaClient } from "../../support/kafka.ts";
import { uniqueName } from "../../support/services.ts";

const client = () => testKafkaClient("eddy-test-feed-fetch");
const catalog = new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]);

function sourcePlan(topic: string): KafkaSourcePlan {
  const plan = planProcessor(
    {
      name: "kfeed",
      pipeline: [
        {
          $source: {
            connectionName: "k",
            topic,
            config: { auto_offset_reset: "earliest", keyFormat: "string" },
          },
        },
      ],
    },
    { connectors: CONNECTORS, connections: catalog, ephemeral: true },
  );
  return plan.source as KafkaSourcePlan;
}

async function createTopic(topic: string, configs: Array<{ name: string; value: string }> = []) {
  const admin = new Admin(client());
  await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1, configs });
  await admin.close();
}

async function deleteTopic(topic: string) {
  const admin = new Admin(client());
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.close();
}

/** A feed in a fresh group holding partition 0 of `topic`, fed from `positions` (a checkpoint's). */
async function openFeed(
  topic: string,
  positions?: Doc,
): Promise<{ feed: PartitionFeed; source: FeedSource }> {
  const feed = new PartitionFeed(client(), {
    topic,
    groupId: uniqueName("feed_fetch_group"),
    onAssignment: () => undefined,
  });
  await feed.start();
  const deadline = Date.now() + 15_000;
  while (feed.assigned().length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const decoder = new SourceTopicDecoder(new KafkaRecordDecoder(sourcePlan(topic).options), `${topic}:0`);
  const source = new FeedSource(feed, { topic, partition: 0 }, decoder, positions);
  await feed.open(new Map([[0, source]]));
  return { feed, source };
}

/** Records from `source` until `count` came, then a little longer: nothing more may come. */
async function readAll(source: Source, count: number): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for (let i = 0; i < 60 && records.length < count; i++)
    records.push(...((await source.next())?.records ?? []));
  for (let i = 0; i < 2; i++) records.push(...((await source.next())?.records ?? []));
  return records;
}

/** What a runtime sees of a record. */
const seen = (record: SourceRecord) => ({
  doc: record.doc,
  meta: record.meta,
  partition: record.partition,
  timestamp: record.timestamp,
  size: record.size,
});

describe("the partition feed's fetch path", () => {
  it(
    "hands over what a $source reads: LogAppendTime timestamps, keys, headers, aborted transactions skipped",
    { timeout: 60_000 },
    async () => {
      const topic = uniqueName("feed_fetch_same");
      await createTopic(topic, [{ name: "message.timestamp.type", value: "LogAppendTime" }]);
      const before = Date.now();
      const claimed = 1_000_000_000_000n; // 2001: what the producers claim, which LogAppendTime replaces
      const plain = new Producer({ ...client(), autocreateTopics: false });
      const sendPlain = (n: number) =>
        plain.send({
          messages: [
            {
              topic,
              key: Buffer.from(`key-${n}`),
              value: Buffer.from(JSON.stringify({ n })),
              headers: new Map([[Buffer.from("h"), Buffer.from(`v${n}`)]]),
              timestamp: claimed,
            },
          ],
        });
      const expected = [0];
      await sendPlain(0);
      const transactional = transactionalProducer(client(), {
        transactionalId: uniqueName("feed_txn"),
        markerTopic: "",
        sharedMarkerTopic: false,
      });
      for (let t = 1; t <= 4; t++) {
        const transaction = await transactional.beginTransaction();
        const values = [10 * t, 10 * t + 1];
        await transaction.send({
          messages: values.map((n) => ({
            topic,
            key: Buffer.from(`key-${n}`),
            value: Buffer.from(`{"n":${n}}`),
          })),
        });
        if (t % 2 === 0) {
          await transaction.commit();
          expected.push(...values);
        } else await transaction.abort();
        await sendPlain(100 + t);
        expected.push(100 + t);
      }
      await transactional.close();
      await plain.close();

      const reference = new KafkaSource(client(), sourcePlan(topic), { fallbackGroupId: uniqueName("g") });
      await reference.start();
      const fromSource = await readAll(reference, expected.length);
      await reference.close();
      const { feed, source } = await openFeed(topic);
      const fromFeed = await readAll(source, expected.length);
      const positions = source.positions();
      await feed.close();

      expect(fromFeed.map((r) => r.doc?.n)).toEqual(expected);
      expect(fromFeed.map(seen)).toEqual(fromSource.map(seen));
      expect(fromFeed[2].meta).toMatchObject({ key: "key-20", topic, partition: 0 });
      expect((fromFeed[0].meta?.headers as Array<{ k: string }>).map((h) => h.k)).toEqual(["h"]);
      for (const record of fromFeed) expect(record.timestamp).toBeGreaterThanOrEqual(before - 60_000);
      // Where it continues: after the last record (the commit marker after it is not a record).
      expect(positions).toEqual({ topic, offset: String((fromFeed.at(-1)?.meta?.offset as number) + 1) });
      await deleteTopic(topic);
    },
  );

  it("restarts a partition whose checkpointed position is out of range at the fallback, as a $source does", async () => {
    const topic = uniqueName("feed_fetch_oor");
    await createTopic(topic);
    const producer = new Producer({ ...client(), autocreateTopics: false });
    await producer.send({ messages: [0, 1, 2].map((n) => ({ topic, value: Buffer.from(`{"n":${n}}`) })) });
    await producer.close();
    // A checkpoint past the log end (the topic was recreated, or its records were deleted meanwhile).
    const { feed, source } = await openFeed(topic, { topic, offset: "1000" });
    try {
      expect((await readAll(source, 3)).map((r) => r.doc?.n)).toEqual([0, 1, 2]);
      expect(source.positions()).toEqual({ topic, offset: "3" });
    } finally {
      await feed.close();
      await deleteTopic(topic);
    }
  });
});
