// Chaos for exactly-once Kafka `$emit` (`config.exactlyOnce`): `sp process` reads a Kafka topic and emits
// to another through Kafka transactions, one per checkpoint, and is killed with SIGKILL at seeded points.
// A read_committed consumer of the output must then see every input event exactly once: output of a
// killed run that was not committed is aborted, and the restart resumes from the checkpoint whose
// transaction committed. Prints the number of kills and each recovery time.
import { Admin, Consumer, Producer } from "@platformatic/kafka";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { testServices, uniqueName } from "../support/services.ts";
import { killAll, killPoints, processArgs, report, runWithKills, sleep, SpChild } from "./support.ts";

const EVENTS = 40_000;
const PARTITIONS = 2;
const KILLS = 4;
const CHECKPOINT_INTERVAL_MS = 500;

/** What the read_committed consumer of the output topic has seen so far. */
class CommittedOutput {
  readonly counts = new Map<number, number>();
  total = 0;
  lastProcessedAt = 0;
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private reading: Promise<void> | undefined;
  private close: (() => void) | undefined;

  constructor(brokers: string[]) {
    // The client's default isolation level is read_committed: aborted transactions are skipped.
    this.consumer = new Consumer({
      clientId: "eddy-chaos-eos",
      groupId: uniqueName("eos_reader"),
      bootstrapBrokers: brokers,
    });
  }

  async start(topic: string): Promise<void> {
    const stream = await this.consumer.consume({
      topics: [topic],
      mode: "earliest",
      autocommit: false,
      maxWaitTime: 200,
    });
    this.close = () => void stream.close();
    this.reading = (async () => {
      for await (const message of stream) {
        const doc = JSON.parse(String(message.value)) as { i: number; processedAt: { $date: string } };
        this.counts.set(doc.i, (this.counts.get(doc.i) ?? 0) + 1);
        this.total++;
        this.lastProcessedAt = Math.max(this.lastProcessedAt, Date.parse(doc.processedAt.$date));
      }
    })();
  }

  async stop(): Promise<void> {
    this.close?.();
    await this.reading?.catch(() => undefined);
    await this.consumer.close(true);
  }
}

describe("chaos: exactly-once Kafka $emit under SIGKILL", () => {
  const { kafkaBrokers } = testServices();
  const dir = mkdtempSync(join(tmpdir(), "eddy-chaos-eos-"));

  afterAll(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("Kafka → $addFields → Kafka with transactions: a read_committed reader sees every event exactly once", async () => {
    const input = uniqueName("eos_in");
    const output = uniqueName("eos_out");
    const connections = join(dir, "connections.json");
    writeFileSync(
      connections,
      JSON.stringify({
        connections: [{ name: "kafka", type: "Kafka", bootstrapServers: kafkaBrokers.join(",") }],
      }),
    );
    const definition = join(dir, `${input}.json`);
    writeFileSync(
      definition,
      JSON.stringify({
        name: `eos_${input}`,
        pipeline: [
          { $source: { connectionName: "kafka", topic: input, config: { auto_offset_reset: "earliest" } } },
          { $addFields: { doubled: { $multiply: ["$v", 2] }, processedAt: "$$NOW" } },
          { $project: { _id: 0, _stream_meta: 0 } },
          { $emit: { connectionName: "kafka", topic: output, config: { exactlyOnce: true } } },
        ],
      }),
    );
    const admin = new Admin({ clientId: "eddy-chaos-eos-admin", bootstrapBrokers: kafkaBrokers });
    const producer = new Producer({ clientId: "eddy-chaos-eos-producer", bootstrapBrokers: kafkaBrokers });
    const committed = new CommittedOutput(kafkaBrokers);
    try {
      await admin.createTopics({ topics: [input], partitions: PARTITIONS, replicas: 1 });
      await admin.createTopics({ topics: [output], partitions: PARTITIONS, replicas: 1 });
      await committed.start(output);
      const args = processArgs(definition, connections, join(dir, input), CHECKPOINT_INTERVAL_MS);
      const first = new SpChild(args);
      const producing = produceEvents(producer, input);
      const run = await runWithKills({
        child: first,
        args,
        points: killPoints(23, KILLS),
        expected: EVENTS,
        progress: async () => committed.counts.size,
        writtenSince: async (at) => committed.lastProcessedAt > at.getTime(),
      });
      await producing;
      const deadline = Date.now() + 60_000;
      while (committed.counts.size < EVENTS && Date.now() < deadline) {
        if (run.child.process.exitCode !== null) throw new Error(`sp process exited:\n${run.child.stderr}`);
        await sleep(50);
      }
      expect(await run.child.stop()).toBe(0);
      await sleep(1_000); // a duplicate committed by the final checkpoint would be read by now
      const duplicates = [...committed.counts].filter(([, count]) => count > 1);
      const missing = Array.from({ length: EVENTS }, (_, i) => i).filter((i) => !committed.counts.has(i));
      expect({ missing: missing.slice(0, 10), duplicates: duplicates.slice(0, 10) }).toEqual({
        missing: [],
        duplicates: [],
      });
      expect(committed.total).toBe(EVENTS);
      report("Kafka → $addFields → Kafka $emit (exactlyOnce)", run, run.child.stderr);
    } finally {
      await committed.stop();
      await producer.close();
      await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
      await admin.close();
    }
  }, 240_000);
});

/**
 * Produces the events in chunks while the processor runs (an infinite source), over about 20 s: slower
 * than the processor reads, so every kill point comes while events are still arriving and each restarted
 * child has new output to commit.
 */
async function produceEvents(
  producer: Producer<Buffer, Buffer, Buffer, Buffer>,
  topic: string,
): Promise<void> {
  const chunk = 500;
  for (let start = 0; start < EVENTS; start += chunk) {
    const messages = [];
    for (let i = start; i < Math.min(EVENTS, start + chunk); i++)
      messages.push({
        topic,
        partition: i % PARTITIONS,
        value: Buffer.from(JSON.stringify({ i, v: i % 1000 })),
      });
    await producer.send({ messages, acks: 1 });
    await sleep(250);
  }
}
