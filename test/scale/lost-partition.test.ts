// A partition of a scaled-out task whose lease moves to another holder while the task is paused in the
// middle of a checkpoint (real broker, real MongoDB stand-in as the shared state store; docs/scale-out.md):
// the stale save is refused by the store, the partition stops here cleanly (counted, logged, the task
// runs on), the new holder's checkpoint stays as it wrote it, and the task's counts do not go down. Taken
// back later, the partition's start is refused once more by a still newer claim, and waits for its lease anew.
import { Producer } from "@platformatic/kafka";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionCheckpoints } from "../../src/control/checkpoint-store.ts";
import { MongoStateStore } from "../../src/control/mongo-state-store.ts";
import { PartitionTask } from "../../src/control/scale/partition-task.ts";
import { PartitionFeed, SourceTopicDecoder } from "../../src/connectors/kafka/partition-feed.ts";
import { KafkaRecordDecoder } from "../../src/connectors/kafka/record.ts";
import type { KafkaSourceOptions } from "../../src/connectors/kafka/spec.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";
import type { Doc } from "../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../src/pipeline/index.ts";
import { jsonLogger } from "../../src/runtime/log.ts";
import type { ProcessorStats } from "../../src/runtime/stats.ts";
import { CollectSink } from "../runtime/helpers.ts";
import { pausingStore } from "../support/pausing-store.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { createTopic, deleteTopics, kafkaClient } from "./fixtures.ts";

const topic = uniqueName("eddy_lost_partition");
const db = uniqueName("eddy_lost_partition");
const client = () => kafkaClient(testServices(), "eddy-lost-partition");
let mongo: MongoClient;

beforeAll(async () => {
  mongo = new MongoClient(testServices().mongodbUri, { serverSelectionTimeoutMS: 10_000 });
  await mongo.connect();
  await createTopic(testServices(), topic, 2);
  const producer = new Producer({ ...client(), autocreateTopics: false });
  await producer.send({
    messages: Array.from({ length: 200 }, (_, n) => ({
      topic,
      partition: n % 2,
      value: Buffer.from(JSON.stringify({ n })),
    })),
  });
  await producer.close();
});

afterAll(async () => {
  await deleteTopics(testServices(), [topic]);
  await mongo.db(db).dropDatabase();
  await mongo.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const totals = (stats: readonly ProcessorStats[]) => ({
  input: stats.reduce((sum, s) => sum + s.inputMessageCount, 0),
  output: stats.reduce((sum, s) => sum + s.outputMessageCount, 0),
});

describe("a partition whose lease moves while its task is paused in a checkpoint", () => {
  it(
    "stops here without overwriting the new holder's checkpoint, and keeps its counts",
    { timeout: 90_000 },
    async () => {
      const processor = uniqueName("proc");
      const prefix = `processor/${processor}/partition/`;
      const state = new MongoStateStore(mongo, { db });
      const leases = state.leases();
      const paused = pausingStore(state);
      const plan = planProcessor(
        {
          name: "lostPartition",
          pipeline: [{ $source: { connectionName: "k", topic, config: { auto_offset_reset: "earliest" } } }],
        },
        {
          connectors: CONNECTORS,
          connections: new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]),
          ephemeral: true,
        },
      );
      const source = plan.source.options as KafkaSourceOptions;
      const sink = new CollectSink();
      const log: Doc[] = [];
      const failures: unknown[] = [];
      const task = new PartitionTask({
        plan,
        topic,
        repartitioned: false,
        feed: (onAssignment) =>
          new PartitionFeed(client(), { topic, groupId: uniqueName("eddy_lost"), onAssignment }),
        // Partition 0's checkpoints go through the store that can pause a write.
        openPartition: async (partition, fence) => ({
          sink,
          checkpoints: partitionCheckpoints(
            partition === 0 ? paused.store : state,
            processor,
            partition,
            0,
            fence,
          ),
          decoder: () => new SourceTopicDecoder(new KafkaRecordDecoder(source), `${topic}:${partition}`),
          close: async () => {},
        }),
        leases: { store: leases, owner: "a", ttlMs: 10_000, prefix },
        checkpointIntervalMs: 100,
        logger: jsonLogger((line) => log.push(JSON.parse(line) as Doc)),
        onOutput: () => undefined,
        onFailure: (error) => failures.push(error),
      });
      await task.start();
      await until("all 200 records", () => (totals(task.stats()).output === 200 ? true : undefined));
      const tokenA = (await leases.holder(`${prefix}0`))?.token as number;

      // Partition 0's next checkpoint confirms the lease, then stalls; meanwhile the lease moves to "b",
      // which claims the partition's checkpoint as a new holder does when it starts.
      const reached = paused.arm();
      await reached;
      const before = totals(task.stats());
      await mongo
        .db(db)
        .collection<{ _id: string; token: number }>("state.leases")
        .updateOne(
          { _id: `${prefix}0` },
          { $set: { owner: "b", expiresAt: Date.now() + 60_000 }, $inc: { token: 1 } },
        );
      const tokenB = (await leases.holder(`${prefix}0`))?.token as number;
      expect(tokenB).toBe(tokenA + 1);
      const held = await partitionCheckpoints(state, processor, 0, 0, tokenB).load();
      expect(held?.sourcePositions).toBeDefined();
      paused.resume();

      await until("the refusal", () => (task.refusedCheckpoints() === 1 ? true : undefined));
      await until("partition 0 to stop here", () => (task.partitions().includes(0) ? undefined : true));
      expect(log).toContainEqual(
        expect.objectContaining({
          level: "warn",
          msg: "partition checkpoint refused: a newer holder took its lease",
          processor: "lostPartition",
          partition: 0,
          fencingToken: tokenA,
          refusedCheckpoints: 1,
        }),
      );
      expect(failures).toEqual([]);
      expect(task.partitions()).toEqual([1]);
      // The new holder's checkpoint is the one it claimed; the stale save changed nothing.
      expect(await partitionCheckpoints(state, processor, 0, 0).load()).toEqual(held);
      // The partition that left still counts in the task's stats.
      const after = totals(task.stats());
      expect(after.input).toBeGreaterThanOrEqual(before.input);
      expect(after.output).toBeGreaterThanOrEqual(before.output);

      // Before letting go, a holder newer than the task's next lease claims the checkpoint too (token B + 2;
      // the task's next lease gets B + 1): the task's start of partition 0 is refused once, and it waits
      // for the lease anew (B + 2) instead of failing.
      await partitionCheckpoints(state, processor, 0, 0, tokenB + 2).load();
      // "b" lets go: the group still assigns partition 0 here, so the task takes it back from that checkpoint,
      // and counts each record once (the checkpoint's counts continue; what it counted before is not added).
      await mongo
        .db(db)
        .collection<{ _id: string }>("state.leases")
        .updateOne({ _id: `${prefix}0` }, { $set: { owner: "", expiresAt: 0 } });
      await until("partition 0 back", () => (task.partitions().includes(0) ? true : undefined));
      expect(task.refusedCheckpoints()).toBe(2);
      expect((await leases.holder(`${prefix}0`))?.token).toBe(tokenB + 2);
      await sleep(1_500); // its replay from the checkpoint

      expect(totals(task.stats())).toEqual({ input: 200, output: 200 });
      await task.stop();
      expect(failures).toEqual([]);
    },
  );
});
