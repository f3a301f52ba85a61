// A Kafka source under ProcessorRuntime against the real broker: offsets reach the consumer group only
// after a checkpoint covering them was saved (never for records whose results were not written), records
// produced while the processor runs keep arriving, and a resume from checkpoint offsets replays nothing.
import { Producer } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../../src/connectors/kafka/connection.ts";
import { KafkaSource, type KafkaSourcePlan } from "../../src/connectors/kafka/source.ts";
import type { Doc } from "../../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../../src/pipeline/index.ts";
import {
  MemoryCheckpointStore,
  ProcessorRuntime,
  type Sink,
  type SinkResult,
} from "../../src/runtime/index.ts";
import { testServices, uniqueName } from "../support/services.ts";
import { CollectSink } from "./helpers.ts";
import { CONNECTORS } from "../../src/connectors/registry.ts";

const client = (id: string) =>
  kafkaClientOptions({ bootstrapServers: testServices().kafkaBrokers.join(",") }, id);

function kafkaPlan(topic: string, group: string) {
  return planProcessor(
    {
      name: "kafka_ckpt",
      pipeline: [
        {
          $source: { connectionName: "k", topic, config: { auto_offset_reset: "earliest", group_id: group } },
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

async function produce(topic: string, values: number[]): Promise<void> {
  const producer = new Producer({ ...client("eddy-ckpt-producer"), autocreateTopics: true });
  await producer.send({
    messages: values.map((n) => ({ topic, value: Buffer.from(JSON.stringify({ n })) })),
  });
  await producer.close();
}

/** Collects documents and stops the runtime once `until` of them arrived. */
class StoppingSink extends CollectSink {
  runtime: ProcessorRuntime | undefined;
  private readonly until: number;
  private readonly onWrite: (count: number) => Promise<void>;
  constructor(until: number, onWrite: (count: number) => Promise<void> = async () => {}) {
    super();
    this.until = until;
    this.onWrite = onWrite;
  }
  override async write(docs: readonly Doc[]): Promise<SinkResult> {
    const result = await super.write(docs);
    await this.onWrite(this.docs.length);
    if (this.docs.length >= this.until) this.runtime?.stop();
    return result;
  }
}

async function readAll(topic: string, group: string, expected: number): Promise<number[]> {
  const plan = kafkaPlan(topic, group);
  const sink = new StoppingSink(expected);
  const runtime = new ProcessorRuntime(plan, {
    source: new KafkaSource(client("eddy-ckpt-reader"), plan.source as KafkaSourcePlan),
    sink,
  });
  sink.runtime = runtime;
  await runtime.run();
  return sink.docs.map((d) => d.n as number);
}

describe("Kafka source under the runtime", () => {
  it("commits group offsets only after a checkpoint, never for records whose results were not written", async () => {
    const topic = uniqueName("ckpt");
    const group = uniqueName("g");
    await produce(topic, [0, 1, 2, 3, 4]);
    const plan = kafkaPlan(topic, group);
    const failing: Sink = {
      operatorName: "TestSinkOperator",
      write: async () => {
        throw new Error("connection refused");
      },
      close: async () => {},
    };
    const crashed = new ProcessorRuntime(plan, {
      source: new KafkaSource(client("eddy-ckpt-1"), plan.source as KafkaSourcePlan),
      sink: failing,
      checkpoints: new MemoryCheckpointStore(),
      checkpointIntervalMs: 0,
    });
    await expect(crashed.run()).rejects.toThrow("connection refused");
    // Nothing was acknowledged: the group still starts from the beginning.
    expect(await readAll(topic, group, 5)).toEqual([0, 1, 2, 3, 4]);
  });

  it("keeps reading records produced while it runs, and resumes from checkpoint offsets without replaying", async () => {
    const topic = uniqueName("ckpt");
    const group = uniqueName("g");
    await produce(topic, [0, 1, 2]);
    const plan = kafkaPlan(topic, group);
    const store = new MemoryCheckpointStore();
    let produced = false;
    const sink = new StoppingSink(6, async () => {
      if (!produced) {
        produced = true;
        await produce(topic, [3, 4, 5]);
      }
    });
    const runtime = new ProcessorRuntime(plan, {
      source: new KafkaSource(client("eddy-ckpt-2"), plan.source as KafkaSourcePlan),
      sink,
      checkpoints: store,
      checkpointIntervalMs: 60_000,
    });
    sink.runtime = runtime;
    const stats = await runtime.run();
    expect(sink.docs.map((d) => d.n)).toEqual([0, 1, 2, 3, 4, 5]);
    const checkpoint = await store.load();
    expect(checkpoint?.sourcePositions).toEqual({ offsets: { [`${topic}:0`]: "6" } });
    expect(stats.lastCheckpoint?.id).toBe(checkpoint?.id);

    await produce(topic, [6, 7]);
    // From the checkpoint's offsets (a fresh group: the checkpoint alone decides where to start)...
    const resumedSink = new StoppingSink(2);
    const resumed = new ProcessorRuntime(plan, {
      source: new KafkaSource(client("eddy-ckpt-3"), plan.source as KafkaSourcePlan, {
        startOffsets: checkpoint?.sourcePositions.offsets as Record<string, string>,
      }),
      sink: resumedSink,
      checkpoints: store,
      resumeFrom: checkpoint,
    });
    resumedSink.runtime = resumed;
    await resumed.run();
    expect(resumedSink.docs.map((d) => d.n)).toEqual([6, 7]);
    // ...and the group's committed offsets (acknowledged after each final checkpoint) agree.
    await produce(topic, [8]);
    expect(await readAll(topic, group, 1)).toEqual([8]);
  });
});
