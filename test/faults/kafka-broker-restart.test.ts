// Fault injection: the Kafka broker restarts (same log directory, so topics and messages survive) while a
// processor runs Kafka → $addFields → Kafka under the supervisor. Every produced event must come out (the
// set of ids equals what was produced); duplicates are allowed (at-least-once) and counted. The private
// broker has topic auto-creation off, which also lets this file check how an unknown topic is classified.
import { Admin } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { KafkaEmitSink, type EmitSinkPlan } from "../../src/connectors/kafka/emit-sink.ts";
import { KafkaSource, type KafkaSourcePlan } from "../../src/connectors/kafka/source.ts";
import { MapConnectionCatalog, planProcessor } from "../../src/pipeline/index.ts";
import { ConnectorError } from "../../src/runtime/errors.ts";
import { startPrivateKafka, type PrivateKafka } from "../../scripts/services/private.ts";
import {
  collectIds,
  lossAndDuplicates,
  newProducer,
  produceReliably,
  sleep,
  superviseProcessor,
} from "./helpers.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

const EVENTS = 6_000;
const BATCH = 200;

describe("Kafka broker restart mid-stream", () => {
  let kafka: PrivateKafka;

  beforeAll(async () => {
    kafka = await startPrivateKafka({ properties: { "auto.create.topics.enable": "false" } });
  }, 180_000);

  afterAll(async () => {
    await kafka?.dispose();
  }, 60_000);

  async function createTopics(...topics: string[]) {
    const admin = new Admin({ clientId: "fault-admin", bootstrapBrokers: kafka.brokers });
    await admin.createTopics({ topics, partitions: 2, replicas: 1 });
    await admin.close();
  }

  it("loses no event: Kafka → $addFields → Kafka keeps running through the restart", async () => {
    const input = "restart_in";
    const output = "restart_out";
    await createTopics(input, output);
    const connections = [
      { name: "k", type: "Kafka" as const, config: { bootstrapServers: kafka.brokers.join(",") } },
    ];
    const { supervisor, statuses } = await superviseProcessor(
      {
        name: "kafka_restart",
        pipeline: [
          {
            $source: {
              connectionName: "k",
              topic: input,
              config: { auto_offset_reset: "earliest", group_id: "restart_g" },
            },
          },
          { $addFields: { processed: true } },
          { $emit: { connectionName: "k", topic: output } },
        ],
      },
      connections,
    );
    const producer = newProducer(kafka.brokers);
    const expected = new Set<number>();
    let restarted = false;
    let emittedBeforeRestart = 0;
    try {
      for (let start = 0; start < EVENTS; start += BATCH) {
        const docs = Array.from({ length: BATCH }, (_, i) => ({ id: start + i }));
        await produceReliably(producer, input, docs);
        for (const doc of docs) expected.add(doc.id);
        if (!restarted && start >= EVENTS / 3) {
          restarted = true;
          // Restart only once the processor is demonstrably mid-stream.
          while (supervisor.stats().outputMessageCount === 0) await sleep(50);
          emittedBeforeRestart = supervisor.stats().outputMessageCount;
          await kafka.stop();
          await sleep(1_000);
          await kafka.start();
        }
        await sleep(30);
      }
      const { counts, docs } = await collectIds(kafka.brokers, output, expected, 120_000);
      const { missing, duplicates } = lossAndDuplicates(expected, counts);
      console.log(
        `kafka restart: ${emittedBeforeRestart} emitted before the restart, ${expected.size} events produced, ${docs.length} emitted, ${duplicates} duplicates, ` +
          `${missing.length} missing, supervisor restarts ${supervisor.status().restarts}, ` +
          `states ${statuses.map((s) => s.state).join(">")}`,
      );
      expect(emittedBeforeRestart).toBeGreaterThan(0);
      expect(emittedBeforeRestart).toBeLessThan(EVENTS);
      expect(missing).toEqual([]);
      expect(new Set(counts.keys())).toEqual(expected);
      expect(docs.every((doc) => doc.processed === true)).toBe(true);
      expect(supervisor.status().state).toBe("running");
    } finally {
      await producer.close().catch(() => undefined);
      await supervisor.stop();
    }
  }, 300_000);

  it("classifies an unknown topic (auto-creation off) as permanent for the source and for $emit", async () => {
    const catalog = new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]);
    const plan = planProcessor(
      {
        name: "unknown_topic",
        pipeline: [
          {
            $source: {
              connectionName: "k",
              topic: "no_such_topic",
              config: { auto_offset_reset: "earliest" },
            },
          },
          { $emit: { connectionName: "k", topic: "no_such_topic_either" } },
        ],
      },
      { connectors: CONNECTORS, connections: catalog, ephemeral: true },
    );
    const client = kafkaClientOptions({ bootstrapServers: kafka.brokers.join(",") }, "fault-unknown");
    if (plan.source.type !== "Kafka" || plan.sink?.kind !== "emit") throw new Error("unexpected plan");
    const source = new KafkaSource(client, plan.source as KafkaSourcePlan, { fallbackGroupId: "unknown_g" });
    const startError = await source.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    await source.close();
    expect(startError).toBeInstanceOf(ConnectorError);
    expect((startError as ConnectorError).retryable).toBe(false);
    expect((startError as Error).message).toMatch(/no_such_topic.*does not exist/);

    const sink = new KafkaEmitSink(client, plan.sink as EmitSinkPlan, {
      retry: { attempts: 2, initialDelayMs: 10 },
    });
    const writeError = await sink.write([{ a: 1 }]).then(
      () => undefined,
      (error: unknown) => error,
    );
    await sink.close();
    expect(writeError).toBeInstanceOf(ConnectorError);
    expect((writeError as ConnectorError).retryable).toBe(false);
    expect((writeError as Error).message).toContain("Kafka $emit to 'no_such_topic_either' failed");
  }, 60_000);
});
