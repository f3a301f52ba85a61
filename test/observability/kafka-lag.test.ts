import { Producer } from "@platformatic/kafka";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { KafkaSource, type KafkaSourcePlan } from "../../src/connectors/kafka/source.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";
import { MapConnectionCatalog, planProcessor } from "../../src/pipeline/index.ts";
import type { SourceLag } from "../../src/runtime/source.ts";
import { testServices, uniqueName } from "../support/services.ts";

const client = (id: string) =>
  kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, id);

function sourcePlan(topic: string): KafkaSourcePlan {
  const plan = planProcessor(
    {
      name: "lag",
      pipeline: [{ $source: { connectionName: "k", topic, config: { auto_offset_reset: "earliest" } } }],
    },
    {
      connectors: CONNECTORS,
      connections: new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]),
      ephemeral: true,
    },
  );
  return plan.source as KafkaSourcePlan;
}

/** Polls `lag()` until `accept` holds (the log end is read on a 50 ms timer here). */
async function lagWhen(source: KafkaSource, accept: (lag: SourceLag) => boolean): Promise<SourceLag> {
  for (let i = 0; i < 200; i++) {
    const lag = source.lag();
    if (accept(lag)) return lag;
    await sleep(50);
  }
  return source.lag();
}

describe("Kafka source offset lag", () => {
  it("reports log end offset − next offset per partition and in total, as ASP names them", async () => {
    const topic = uniqueName("lag");
    const producer = new Producer({ ...client("eddy-test-lag"), autocreateTopics: true });
    await producer.send({
      messages: Array.from({ length: 5 }, (_, i) => ({ topic, value: Buffer.from(`{"i":${i}}`) })),
    });
    await producer.close();
    const group = uniqueName("g");
    const source = new KafkaSource(client("eddy-test-lag-src"), sourcePlan(topic), {
      fallbackGroupId: group,
      maxBatchSize: 2,
      lagIntervalMs: 50,
    });
    await source.start();
    try {
      let first = 0;
      for (let i = 0; i < 40 && first === 0; i++) first = (await source.next())?.records.length ?? 0;
      expect(first).toBe(2);
      const behind = await lagWhen(source, (lag) => lag.kafkaTotalOffsetLag === 3);
      expect(behind).toMatchObject({
        kafkaTotalOffsetLag: 3,
        kafkaConsumerGroup: group,
        kafkaPartitions: [{ topic, partition: 0, currentOffset: 2, partitionOffsetLag: 3, isIdle: false }],
        sourceStatus: { reachable: true },
      });

      let rest = 0;
      for (let i = 0; i < 40 && rest < 3; i++) rest += (await source.next())?.records.length ?? 0;
      const caughtUp = await lagWhen(source, (lag) => lag.kafkaTotalOffsetLag === 0);
      expect(caughtUp.kafkaPartitions).toEqual([
        expect.objectContaining({ currentOffset: 5, partitionOffsetLag: 0, isIdle: true }),
      ]);
    } finally {
      await source.close();
    }
  });
});
