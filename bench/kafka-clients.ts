// Produce and consume throughput of @platformatic/kafka and kafkajs against the test broker
// (scripts/services, or KAFKA_BROKERS). Each round writes N messages in batches with acks=leader,
// then reads them all back with a new consumer group from the earliest offset. Rounds alternate
// between the clients; the median round is reported. A third row is Eddy's own paths: the same batches
// encoded by DirectProducer (src/connectors/kafka/direct-producer.ts) over the @platformatic/kafka
// producer's connections, read back by the Kafka source's Fetcher (src/connectors/kafka/fetcher.ts: Fetch
// responses decoded by Eddy, records handed to a visitor) with the @platformatic/kafka consumer's group.
// Every consumer reads with fetches of at most 1 MiB per partition.
//
//   node bench/kafka-clients.ts [--messages 100000] [--size 256] [--batch 500] [--rounds 3] [--json]
import {
  Admin,
  Consumer as PlatformaticConsumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer as PlatformaticProducer,
} from "@platformatic/kafka";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { startServices } from "../scripts/services/services.ts";
import { DirectProducer } from "../src/connectors/kafka/direct-producer.ts";
import { Fetcher } from "../src/connectors/kafka/fetcher.ts";
import { FETCH_BYTES_PER_PARTITION } from "../src/connectors/kafka/source.ts";

const { values: options } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    size: { type: "string", default: "256" },
    batch: { type: "string", default: "500" },
    rounds: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
  },
});
const messageCount = Number(options.messages);
const valueSize = Number(options.size);
const batchSize = Number(options.batch);
const rounds = Number(options.rounds);

interface Round {
  produceMsgPerSec: number;
  /** Process CPU time (all threads) per message while producing: what the write path costs the host. */
  produceCpuMicrosPerMsg: number;
  /** From the first message received to the last: excludes joining the group. */
  consumeMsgPerSec: number;
  /** Process CPU time (all threads) per message from the first message received to the last. */
  consumeCpuMicrosPerMsg: number;
  /** From subscribing to the first message: group join and first fetch. */
  firstMessageMs: number;
}
type Client = "@platformatic/kafka" | "kafkajs" | "eddy DirectProducer + Fetcher";
type Runner = (brokers: string[], topic: string, values: Buffer[]) => Promise<Round>;

function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

function rate(count: number, startNs: bigint): number {
  return Math.round(count / (Number(process.hrtime.bigint() - startNs) / 1e9));
}

function cpuMicrosPer(count: number, since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return Number(((used.user + used.system) / count).toFixed(2));
}

/** Writes `values` in batches through `send`; messages per second and CPU microseconds per message. */
async function produceAll(values: Buffer[], send: (batch: Buffer[]) => Promise<unknown>) {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let offset = 0; offset < values.length; offset += batchSize) {
    await send(values.slice(offset, offset + batchSize));
  }
  const used = process.cpuUsage(cpu);
  return {
    produceMsgPerSec: rate(values.length, start),
    produceCpuMicrosPerMsg: Number(((used.user + used.system) / values.length).toFixed(2)),
  };
}

const platformatic: Runner = async (brokers, topic, values) => {
  const producer = new PlatformaticProducer({
    clientId: "bench-platformatic",
    bootstrapBrokers: brokers,
    acks: ProduceAcks.LEADER,
  });
  const produced = await produceAll(values, (batch) =>
    producer.send({ messages: batch.map((value) => ({ topic, value })) }),
  );
  await producer.close();
  return { ...produced, ...(await platformaticConsume(brokers, topic, values.length)) };
};

const eddyDirect: Runner = async (brokers, topic, values) => {
  const producer = new PlatformaticProducer({ clientId: "bench-eddy", bootstrapBrokers: brokers });
  const direct = new DirectProducer(producer, { acks: ProduceAcks.LEADER });
  if (!(await direct.available())) throw new Error("the broker does not accept Produce v9");
  const produced = await produceAll(values, (batch) => direct.send(batch.map((value) => ({ topic, value }))));
  await producer.close();
  return { ...produced, ...(await eddyConsume(brokers, topic, values.length)) };
};

/** The Kafka source's fetch path, records counted by its visitor (no JSON parsing, as for the others). */
async function eddyConsume(brokers: string[], topic: string, count: number) {
  const client = { clientId: "bench-eddy", bootstrapBrokers: brokers };
  const consumer = new PlatformaticConsumer({ ...client, groupId: uniqueName("bench"), autocommit: false });
  const start = process.hrtime.bigint();
  let received = 0;
  let first = 0n;
  let cpu = process.cpuUsage();
  let fetcher: Fetcher | undefined;
  await new Promise<void>((resolve, reject) => {
    fetcher = new Fetcher(
      consumer,
      client,
      {
        topics: [topic],
        startAt: (_key, committed) => committed,
        fallback: "earliest",
        maxWaitMs: 500,
        bytesPerPartition: FETCH_BYTES_PER_PARTITION,
      },
      {
        visitor: () => ({
          record: () => {
            if (received++ === 0) {
              first = process.hrtime.bigint();
              cpu = process.cpuUsage();
            }
          },
        }),
        fetched: () => {
          if (received >= count) resolve();
        },
        positioned: () => undefined,
        failed: reject,
      },
    );
    fetcher.start().catch(reject);
  });
  const consumeCpuMicrosPerMsg = cpuMicrosPer(received, cpu);
  const consumeMsgPerSec = rate(received - 1, first);
  const firstMessageMs = Math.round(Number(first - start) / 1e6);
  await fetcher?.close();
  await consumer.close(true);
  return { consumeMsgPerSec, consumeCpuMicrosPerMsg, firstMessageMs };
}

async function platformaticConsume(brokers: string[], topic: string, count: number) {
  const consumer = new PlatformaticConsumer({
    clientId: "bench-platformatic",
    groupId: uniqueName("bench"),
    bootstrapBrokers: brokers,
  });
  const start = process.hrtime.bigint();
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: false,
    // The same bound as kafkajs' default and Eddy's source (the Java consumer's max.partition.fetch.bytes):
    // with the client's own default (50 MB) it reads the whole topic in one or two fetches, and the
    // fetch size, not the client, would decide the consume figures.
    maxBytesPerPartition: FETCH_BYTES_PER_PARTITION,
  });
  let received = 0;
  let first = 0n;
  let cpu = process.cpuUsage();
  await new Promise<void>((resolve, reject) => {
    stream.on("data", () => {
      if (received++ === 0) {
        first = process.hrtime.bigint();
        cpu = process.cpuUsage();
      }
      if (received === count) resolve();
    });
    stream.once("error", reject);
  });
  const consumeCpuMicrosPerMsg = cpuMicrosPer(received, cpu);
  const consumeMsgPerSec = rate(received - 1, first);
  const firstMessageMs = Math.round(Number(first - start) / 1e6);
  await stream.close();
  await consumer.close(true);
  return { consumeMsgPerSec, consumeCpuMicrosPerMsg, firstMessageMs };
}

const kafkajs: Runner = async (brokers, topic, values) => {
  const kafka = new Kafka({ clientId: "bench-kafkajs", brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const produced = await produceAll(values, (batch) =>
    producer.send({ topic, acks: 1, messages: batch.map((value) => ({ value })) }),
  );
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: uniqueName("bench") });
  const start = process.hrtime.bigint();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let received = 0;
  let first = 0n;
  let cpu = process.cpuUsage();
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        // eachBatch is kafkajs's fastest API and the shape Eddy consumes in (batches).
        eachBatch: async ({ batch }) => {
          if (received === 0) {
            first = process.hrtime.bigint();
            cpu = process.cpuUsage();
          }
          received += batch.messages.length;
          if (received >= values.length) resolve();
        },
      })
      .catch(reject);
  });
  // The first batch arrived at `first`; its messages count as already received then.
  const consumeCpuMicrosPerMsg = cpuMicrosPer(received, cpu);
  const consumeMsgPerSec = rate(received, first);
  const firstMessageMs = Math.round(Number(first - start) / 1e6);
  await consumer.disconnect();
  return { ...produced, consumeMsgPerSec, consumeCpuMicrosPerMsg, firstMessageMs };
};

const runners: Record<Client, Runner> = {
  "@platformatic/kafka": platformatic,
  kafkajs,
  "eddy DirectProducer + Fetcher": eddyDirect,
};

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const services = await startServices();
try {
  const brokers = services.endpoints.kafkaBrokers;
  const admin = new Admin({ clientId: "bench-admin", bootstrapBrokers: brokers });
  const values = Array.from({ length: messageCount }, () => randomBytes(valueSize));
  const results: Record<Client, Round[]> = {
    "@platformatic/kafka": [],
    kafkajs: [],
    "eddy DirectProducer + Fetcher": [],
  };
  // One warm-up round each (JIT, connections), not reported.
  for (let round = -1; round < rounds; round++) {
    const clients = Object.keys(runners) as Client[];
    const order = round % 2 === 0 ? clients.toReversed() : clients;
    for (const client of order) {
      const topic = uniqueName("bench");
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      const count = round < 0 ? Math.min(values.length, 10_000) : values.length;
      const result = await runners[client](brokers, topic, values.slice(0, count));
      await admin.deleteTopics({ topics: [topic] });
      if (round >= 0) results[client].push(result);
    }
  }
  await admin.close();

  const summary = Object.fromEntries(
    (Object.keys(results) as Client[]).map((client) => [
      client,
      {
        produceMsgPerSec: median(results[client].map((r) => r.produceMsgPerSec)),
        produceCpuMicrosPerMsg: median(results[client].map((r) => r.produceCpuMicrosPerMsg)),
        consumeMsgPerSec: median(results[client].map((r) => r.consumeMsgPerSec)),
        consumeCpuMicrosPerMsg: median(results[client].map((r) => r.consumeCpuMicrosPerMsg)),
        firstMessageMs: median(results[client].map((r) => r.firstMessageMs)),
        rounds: results[client],
      },
    ]),
  );
  const report = {
    broker: "Apache Kafka 4.4.0 (KRaft, single node, loopback)",
    node: process.version,
    messages: messageCount,
    valueBytes: valueSize,
    batch: batchSize,
    rounds,
    results: summary,
  };
  if (options.json) {
    console.log(JSON.stringify(report));
  } else {
    console.log(
      `${messageCount} messages of ${valueSize} B, batches of ${batchSize}, median of ${rounds} rounds`,
    );
    for (const [client, figures] of Object.entries(summary)) {
      console.log(
        `${client.padEnd(20)} produce ${String(figures.produceMsgPerSec).padStart(9)} msg/s (${figures.produceCpuMicrosPerMsg.toFixed(2)} µs CPU/msg)   consume ${String(figures.consumeMsgPerSec).padStart(9)} msg/s (${figures.consumeCpuMicrosPerMsg.toFixed(2)} µs CPU/msg)   first message after ${figures.firstMessageMs} ms`,
      );
    }
  }
} finally {
  await services.stop();
}
