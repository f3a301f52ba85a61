// A window over a real two-partition Kafka topic where partition 0 is read to its end before partition 1
// has any record: the assigned but silent partition 1 holds the watermark back, so none of its records
// count as late and every window holds one record of each partition.
import { setTimeout as sleep } from "node:timers/promises";
import { Admin, Producer } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { KafkaSource, type KafkaSourcePlan } from "../../src/connectors/kafka/source.ts";
import { MapConnectionCatalog, planProcessor } from "../../src/pipeline/index.ts";
import { ProcessorRuntime } from "../../src/runtime/index.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { CollectSink, MemoryDlq } from "./helpers.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

const client = (id: string) =>
  kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, id);

const WINDOWS = 5;

function windowPlan(topic: string, group: string) {
  return planProcessor(
    {
      name: "kafka_watermark",
      pipeline: [
        {
          $source: {
            connectionName: "k",
            topic,
            timeField: { $dateFromString: { dateString: "$t" } },
            config: { auto_offset_reset: "earliest", group_id: group },
          },
        },
        {
          $tumblingWindow: {
            interval: { size: 1, unit: "second" },
            allowedLateness: { size: 0, unit: "second" },
            pipeline: [{ $group: { _id: null, n: { $sum: 1 }, partitions: { $addToSet: "$p" } } }],
          },
        },
      ],
    },
    {
      connectors: CONNECTORS,
      connections: new MapConnectionCatalog([{ name: "k", type: "Kafka", config: {} }]),
      ephemeral: true,
    },
  );
}

/** One record per second 1…WINDOWS at `offsetMs` into the second, then one far ahead (closes them all). */
function records(topic: string, partition: number, offsetMs: number) {
  const times = Array.from({ length: WINDOWS }, (_, i) => (i + 1) * 1000 + offsetMs);
  times.push(100_000);
  return times.map((ms) => ({
    topic,
    partition,
    value: Buffer.from(JSON.stringify({ p: partition, t: new Date(ms).toISOString() })),
  }));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited > 60_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("Kafka watermark over assigned partitions", () => {
  it("a partition read ahead of another does not make the other's records late", async () => {
    const topic = uniqueName("wm");
    const admin = new Admin(client("eddy-wm-admin"));
    const producer = new Producer(client("eddy-wm-producer"));
    try {
      await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
      await producer.send({ messages: records(topic, 0, 100), acks: -1 });
      const plan = windowPlan(topic, uniqueName("g"));
      const sink = new CollectSink();
      const dlq = new MemoryDlq();
      const runtime = new ProcessorRuntime(plan, {
        source: new KafkaSource(client("eddy-wm-reader"), plan.source as KafkaSourcePlan),
        sink,
        dlq,
      });
      const running = runtime.run();
      try {
        // Partition 0 read to its end, partition 1 still empty.
        await until(() => runtime.stats().inputMessageCount === WINDOWS + 1, "partition 0");
        expect(sink.docs).toEqual([]);
        await producer.send({ messages: records(topic, 1, 200), acks: -1 });
        await until(() => sink.docs.length === WINDOWS, "the windows");
      } finally {
        runtime.stop();
        await running;
      }
      expect(dlq.records).toEqual([]);
      expect(sink.docs.map((d) => [d.n, (d.partitions as number[]).toSorted()])).toEqual(
        Array.from({ length: WINDOWS }, () => [2, [0, 1]]),
      );
    } finally {
      await producer.close();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.close();
    }
  }, 120_000);
});
