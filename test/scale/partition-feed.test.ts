// The partition feed across a change of assignment, on a real broker (docs/scale-out.md, "Rebalance"): when
// a task gains a partition, the feed reopens its stream, and the partitions it keeps go on where they were —
// what they already hold stays, and nothing they hold or took is fetched again.
import { Admin, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { FeedSource, PartitionFeed, SourceTopicDecoder } from "../../src/connectors/kafka/partition-feed.ts";
import { KafkaRecordDecoder } from "../../src/connectors/kafka/record.ts";
import type { KafkaSourceOptions } from "../../src/connectors/kafka/spec.ts";
import type { Doc } from "../../src/mql/index.ts";
import { testServices, uniqueName } from "../support/services.ts";

const topic = uniqueName("eddy_feed");
const group = uniqueName("eddy_feed_group");
const client = () =>
  kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, "eddy-feed-test");
const SOURCE = {
  topics: [topic],
  config: { keyFormat: "binData", keyFormatError: "dlq" },
} as unknown as KafkaSourceOptions;

beforeAll(async () => {
  const admin = new Admin(client());
  await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
  await admin.close();
  const producer = new Producer({ ...client(), autocreateTopics: false, idempotent: true });
  await producer.send({
    messages: [0, 1, 2].flatMap((partition) =>
      [...Array(20).keys()].map((n) => ({
        topic,
        partition,
        value: Buffer.from(JSON.stringify({ partition, n })),
      })),
    ),
  });
  await producer.close();
});

afterAll(async () => {
  const admin = new Admin(client());
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.close();
});

function sourceOf(feed: PartitionFeed, partition: number): FeedSource {
  const decoder = new SourceTopicDecoder(new KafkaRecordDecoder(SOURCE), `${topic}:${partition}`);
  return new FeedSource(feed, { topic, partition }, decoder, { offset: "0" });
}

async function until(check: () => boolean, what: string, state: () => string = () => ""): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${state()})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Takes every record the source holds (or gets within a second), as `n`s. */
async function take(source: FeedSource): Promise<number[]> {
  const out: number[] = [];
  for (let idle = 0; idle < 2;) {
    const batch = await source.next();
    if (!batch || batch.records.length === 0) idle++;
    for (const record of batch?.records ?? []) out.push(Number((record.doc as Doc).n));
  }
  return out;
}

describe("the partition feed", () => {
  it(
    "keeps what a kept partition holds when it reopens for a new one, and fetches none of it again",
    {
      timeout: 60_000,
    },
    async () => {
      const feed = new PartitionFeed(client(), { topic, groupId: group, onAssignment: () => undefined });
      await feed.start();
      await until(() => feed.assigned().length === 3, "the assignment");
      const zero = sourceOf(feed, 0);
      const one = sourceOf(feed, 1);
      const two = sourceOf(feed, 2);
      await feed.open(
        new Map([
          [0, zero],
          [1, one],
        ]),
      );
      const held = () => `held ${zero.held}, ${one.held}, ${two.held}; assigned ${feed.assigned().join(",")}`;
      await until(() => zero.held === 20 && one.held === 20, "both partitions fed", held);
      // Partition 1 takes its first batch (all 20); partition 0 has taken nothing and holds all 20.
      expect(await take(one)).toEqual([...Array(20).keys()]);
      expect(zero.fetchFrom).toBe(20n);
      expect(one.fetchFrom).toBe(20n);

      // The task gains partition 2: the stream reopens for 0, 1 and 2.
      const zeroHeld = zero.held;
      await feed.open(
        new Map([
          [0, zero],
          [1, one],
          [2, two],
        ]),
      );
      expect(zero.held).toBe(zeroHeld);
      await until(() => two.held === 20, "the new partition fed", held);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Nothing of 0 or 1 came again: 0 still holds what it held, 1 holds nothing.
      expect(zero.held).toBe(zeroHeld);
      expect(one.held).toBe(0);
      expect(await take(zero)).toEqual([...Array(20).keys()]);
      expect(await take(one)).toEqual([]);
      expect(await take(two)).toEqual([...Array(20).keys()]);

      // Dropping partition 1 (revoked) leaves the others fed without a reopen.
      feed.release(1);
      const producer = new Producer({ ...client(), autocreateTopics: false, idempotent: true });
      await producer.send({
        messages: [0, 1, 2].map((partition) => ({
          topic,
          partition,
          value: Buffer.from(JSON.stringify({ partition, n: 20 })),
        })),
      });
      await producer.close();
      await until(() => zero.held === 1 && two.held === 1, "the kept partitions fed on", held);
      expect(one.held).toBe(0);
      await feed.close();
    },
  );
});
