/**
 * Connector benchmark: Eddy's runtime and connectors against the raw clients doing the same I/O with no
 * processing, measured in the same run on the same data.
 *
 *   node bench/connectors.ts [--messages 200000] [--docs 50000] [--rate 10000] [--seconds 10] [--rounds 3]
 *                            [--only kafka|changestream|postgres|latency] [--json]
 *
 * (i)   Kafka → $match/$addFields → Kafka through ProcessorRuntime (KafkaSource, KafkaEmitSink) versus a
 *       raw @platformatic/kafka consumer that re-produces every message it reads. Both read the same
 *       pre-produced topic from the earliest offset; time runs from the first message read to the last
 *       one acknowledged by the broker. Target: Eddy ≥ 70 % of raw.
 * (ii)  Change stream → $merge (ChangeStreamSource, MergeSink) versus a raw driver loop that reads the
 *       same change stream and bulk-upserts each batch. Both replay the same pre-inserted events (startAfter
 *       a marker event). Target: Eddy ≥ 80 % of raw.
 * (iv)  Change stream → PostgreSQL `$emit` upsert (ChangeStreamSource, PostgresUpsertSink: multi-row
 *       INSERT … ON CONFLICT DO UPDATE, committed with the checkpoint marker once 1,000 rows are pending)
 *       versus a raw `pg` loop that reads the same change stream and upserts each batch of up to 1,000 rows
 *       with the same multi-row statement in its own transaction. PostgreSQL is DATABASE_URL or the machine's
 *       (postgres://postgres@127.0.0.1:5432/test). Target: Eddy ≥ 80 % of raw.
 * (iii) Latency: events produced at a fixed rate, each carrying its produce time, run Kafka → Eddy
 *       ($addFields) → Kafka; a consumer of the output topic records now − produce time. p50/p99 after a
 *       one-second warm-up.
 *
 * Each throughput case runs one uncounted warm-up round of each side, then `--rounds` rounds (default 3)
 * alternating which side goes first; medians are reported.
 *
 * Kafka is the shared test broker (scripts/services, or KAFKA_BROKERS), with unique topics. MongoDB is a
 * private in-memory stand-in started for the run (the shared one is busy with other tests and keeps an
 * ever-growing oplog), or MONGODB_URI when set.
 */
import { Admin, Consumer, ProduceAcks, Producer, type Message } from "@platformatic/kafka";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { MongoClient, type AnyBulkWriteOperation, type Document, type ResumeToken } from "mongodb";
import pg from "pg";
import { ConnectorClients } from "../src/connectors/clients.ts";
import { createSink, createSource } from "../src/connectors/factory.ts";
import type { Doc } from "../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../src/pipeline/index.ts";
import type { ConnectionEntry } from "../src/pipeline/plan.ts";
import { ProcessorRuntime, type Sink, type Source } from "../src/runtime/index.ts";
import { startPrivateMongo, type PrivateMongo } from "../scripts/services/private.ts";
import { HOST, ports } from "../scripts/services/config.ts";
import { isKafkaUp } from "../scripts/services/kafka.ts";
import { startServices, type RunningServices } from "../scripts/services/services.ts";
import { CONNECTORS } from "../src/connectors/registry.ts";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "200000" },
    docs: { type: "string", default: "50000" },
    rate: { type: "string", default: "10000" },
    seconds: { type: "string", default: "10" },
    /** Rounds per throughput case (raw and Eddy alternate which goes first); medians are reported. */
    rounds: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
    /** Run one case only: kafka, changestream or latency (for profiling). */
    only: { type: "string" },
  },
});
const MESSAGES = Number(args.messages);
const DOCS = Number(args.docs);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const ROUNDS = Math.max(1, Number(args.rounds));
const BATCH = 1000;

/** After a warm-up, runs raw and Eddy `ROUNDS` times each, alternating which goes first; median seconds of each. */
async function alternate(raw: (round: number) => Promise<number>, eddy: (round: number) => Promise<number>) {
  const rawRuns: number[] = [];
  const eddyRuns: number[] = [];
  // One uncounted round each first: JIT warm-up here and in the servers' JVMs.
  log(`    warm-up: raw ${(await raw(ROUNDS)).toFixed(2)} s, eddy ${(await eddy(ROUNDS)).toFixed(2)} s`);
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      rawRuns.push(await raw(round));
      eddyRuns.push(await eddy(round));
    } else {
      eddyRuns.push(await eddy(round));
      rawRuns.push(await raw(round));
    }
    log(`    round ${round + 1}: raw ${rawRuns.at(-1)?.toFixed(2)} s, eddy ${eddyRuns.at(-1)?.toFixed(2)} s`);
  }
  return { rawSeconds: median(rawRuns), eddySeconds: median(eddyRuns) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;

function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function log(text: string): void {
  if (!args.json) process.stderr.write(`${text}\n`);
}

/** Runs a processor until `expected` documents were written; seconds from its first input to the last write. */
async function runEddy(
  definition: { name: string; pipeline: Doc[] },
  connections: ConnectionEntry[],
  expected: number,
) {
  const catalog = new MapConnectionCatalog(connections);
  const plan = planProcessor(definition, { connectors: CONNECTORS, connections: catalog });
  const clients = new ConnectorClients(catalog);
  const source = await createSource(plan, catalog, process.stdin, clients);
  const sink = await createSink(plan, catalog, process.stdout, clients);
  let firstInput = 0;
  let lastOutput = 0;
  let written = 0;
  let sinkMs = 0;
  let batches = 0;
  const timedSource: Source = {
    type: source.type,
    operatorName: source.operatorName,
    start: () => source.start(),
    positions: () => source.positions(),
    close: () => source.close(),
    async next() {
      const batch = await source.next();
      if (firstInput === 0 && batch && batch.records.length > 0) firstInput = performance.now();
      return batch;
    },
  };
  const commit = sink.commit;
  const countingSink: Sink = {
    operatorName: sink.operatorName,
    close: () => sink.close(),
    // A sink that commits (PostgreSQL) has written nothing until its commit: the clock runs until then.
    ...(commit
      ? {
          commit: async (marker: number, positions?: Doc) => {
            await commit(marker, positions);
            lastOutput = performance.now();
          },
          commitDue: () => sink.commitDue?.() ?? false,
        }
      : {}),
    async write(docs, context) {
      const t0 = performance.now();
      const result = await sink.write(docs, context);
      sinkMs += performance.now() - t0;
      batches++;
      written += docs.length - (result.failures?.length ?? 0);
      lastOutput = performance.now();
      if (written >= expected) runtime.stop();
      return result;
    },
  };
  const runtime = new ProcessorRuntime(plan, { source: timedSource, sink: countingSink });
  await runtime.run();
  await sink.close();
  await clients.close();
  if (written < expected) throw new Error(`${definition.name}: wrote ${written} of ${expected}`);
  log(`    ${definition.name}: ${batches} batches, ${Math.round(sinkMs)} ms inside the sink's write`);
  return (lastOutput - firstInput) / 1000;
}

// ---------------------------------------------------------------- (i) Kafka → Kafka

async function produceAll(brokers: string[], topic: string, count: number, value: (i: number) => Doc) {
  const producer = new Producer({
    clientId: "bench-connectors",
    bootstrapBrokers: brokers,
    acks: ProduceAcks.LEADER,
    autocreateTopics: true,
  });
  for (let start = 0; start < count; start += 5000) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 5000); i++)
      messages.push({ topic, value: Buffer.from(JSON.stringify(value(i))) });
    await producer.send({ messages });
  }
  await producer.close();
}

/** Reads `topic` from the start and re-produces every message to `target`, in batches, one send at a time. */
async function rawKafkaCopy(brokers: string[], topic: string, target: string, expected: number) {
  const consumer = new Consumer({
    clientId: "bench-raw",
    groupId: uniqueName("raw"),
    bootstrapBrokers: brokers,
  });
  // acks=all, as Eddy's $emit uses by default (ASP's default): the same durability on both sides.
  const producer = new Producer({
    clientId: "bench-raw",
    bootstrapBrokers: brokers,
    autocreateTopics: true,
    acks: ProduceAcks.ALL,
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: "earliest",
    autocommit: false,
    maxWaitTime: 500,
  });
  let copied = 0;
  let first = 0;
  await new Promise<void>((resolve) => stream.once("readable", () => resolve()));
  while (copied < expected) {
    const messages = [];
    for (let m = stream.read() as KafkaMessage | null; m !== null; m = stream.read() as KafkaMessage | null) {
      messages.push({ topic: target, value: m.value });
      if (messages.length >= BATCH) break;
    }
    if (messages.length === 0) {
      await new Promise<void>((resolve) => stream.once("readable", () => resolve()));
      continue;
    }
    if (first === 0) first = performance.now();
    await producer.send({ messages });
    copied += messages.length;
  }
  const seconds = (performance.now() - first) / 1000;
  await stream.close();
  await consumer.close(true);
  await producer.close();
  return seconds;
}

/**
 * A new topic, created before the clock starts: an auto-created one costs the first send about 1 s on
 * either side (LEADER_NOT_AVAILABLE, then the client's 1 s retry delay), which would dwarf the copy itself.
 */
async function newTopic(brokers: string[], prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = new Admin({ clientId: "bench-connectors", bootstrapBrokers: brokers });
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
  } finally {
    await admin.close();
  }
  return topic;
}

async function kafkaToKafka(brokers: string[]) {
  const input = uniqueName("bench_in");
  await produceAll(brokers, input, MESSAGES, (i) => ({ id: i, v: i % 100, name: `sensor-${i % 50}` }));
  log(`(i) produced ${MESSAGES} messages to ${input}`);
  const { rawSeconds, eddySeconds } = await alternate(
    async () => rawKafkaCopy(brokers, input, await newTopic(brokers, "bench_raw_out"), MESSAGES),
    async () =>
      runEddy(
        {
          name: "bench_kafka",
          pipeline: [
            {
              $source: {
                connectionName: "k",
                topic: input,
                config: { auto_offset_reset: "earliest", group_id: uniqueName("g") },
              },
            },
            { $match: { v: { $gte: 0 } } },
            { $addFields: { doubled: { $multiply: ["$v", 2] } } },
            { $emit: { connectionName: "k", topic: await newTopic(brokers, "bench_eddy_out") } },
          ],
        },
        [{ name: "k", type: "Kafka", config: { bootstrapServers: brokers.join(",") } }],
        MESSAGES,
      ),
  );
  return ratioRow("Kafka → $match/$addFields → Kafka", MESSAGES, eddySeconds, rawSeconds, 0.7);
}

// ---------------------------------------------------------------- (ii) change stream → $merge

/** Inserts a marker (its event's token is where both readers start), then the documents. */
async function prepareChangeStream(client: MongoClient, db: string): Promise<ResumeToken> {
  const coll = client.db(db).collection<Document>("events");
  const stream = coll.watch([], { maxAwaitTimeMS: 200 });
  await stream.tryNext();
  await coll.insertOne({ _id: "marker" } as Document);
  let marker: Document | null = null;
  while (!marker) marker = await stream.tryNext();
  await stream.close();
  for (let start = 0; start < DOCS; start += 5000) {
    const docs = [];
    for (let i = start; i < Math.min(DOCS, start + 5000); i++)
      docs.push({ _id: i, v: i % 100, name: `item-${i}` });
    await coll.insertMany(docs as Document[]);
  }
  return marker._id as ResumeToken;
}

async function rawChangeStreamCopy(
  client: MongoClient,
  db: string,
  token: ResumeToken,
  expected: number,
  targetColl: string,
) {
  const stream = client.db(db).collection("events").watch([], { startAfter: token, maxAwaitTimeMS: 200 });
  const target = client.db(db).collection(targetColl);
  let copied = 0;
  let first = 0;
  while (copied < expected) {
    const ops: AnyBulkWriteOperation<Document>[] = [];
    while (ops.length < BATCH) {
      const event = await stream.tryNext();
      if (!event) break;
      const { _id, ...rest } = (event as Document).fullDocument as Document;
      ops.push({ updateOne: { filter: { _id }, update: { $set: rest }, upsert: true } });
      if (stream.bufferedCount() === 0) break;
    }
    if (ops.length === 0) continue;
    if (first === 0) first = performance.now();
    await target.bulkWrite(ops, { ordered: true });
    copied += ops.length;
  }
  const seconds = (performance.now() - first) / 1000;
  await stream.close();
  return seconds;
}

async function changeStreamToMerge(uri: string) {
  const client = new MongoClient(uri);
  const db = uniqueName("bench_cs");
  try {
    const token = await prepareChangeStream(client, db);
    log(`(ii) inserted ${DOCS} documents into ${db}.events`);
    const { rawSeconds, eddySeconds } = await alternate(
      (round) => rawChangeStreamCopy(client, db, token, DOCS, `raw_copy_${round}`),
      (round) =>
        runEddy(
          {
            name: "bench_cs",
            pipeline: [
              { $source: { connectionName: "c", db, coll: "events", config: { startAfter: token } } },
              { $replaceRoot: { newRoot: "$fullDocument" } },
              { $merge: { into: { connectionName: "c", db, coll: `eddy_copy_${round}` } } },
            ],
          },
          [{ name: "c", type: "Cluster", config: { uri } }],
          DOCS,
        ),
    );
    return ratioRow("change stream → $merge", DOCS, eddySeconds, rawSeconds, 0.8);
  } finally {
    await client
      .db(db)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  }
}

// ---------------------------------------------------------------- (iv) change stream → PostgreSQL

const POSTGRES_URL = process.env.DATABASE_URL ?? `postgres://postgres@${HOST}:${ports.postgres}/test`;

async function rawChangeStreamToPostgres(client: MongoClient, db: string, token: ResumeToken, table: string) {
  const sql = new pg.Client({ connectionString: POSTGRES_URL });
  await sql.connect();
  const stream = client.db(db).collection("events").watch([], { startAfter: token, maxAwaitTimeMS: 200 });
  const statements = new Map<number, string>();
  const statement = (rows: number) => {
    let text = statements.get(rows);
    if (!text) {
      const tuples = Array.from({ length: rows }, (_, r) => `($${r * 3 + 1}, $${r * 3 + 2}, $${r * 3 + 3})`);
      text = `INSERT INTO ${table} (id, v, name) VALUES ${tuples.join(", ")} ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, name = EXCLUDED.name`;
      statements.set(rows, text);
    }
    return text;
  };
  let copied = 0;
  let first = 0;
  try {
    while (copied < DOCS) {
      const values: unknown[] = [];
      let rows = 0;
      while (rows < BATCH) {
        const event = await stream.tryNext();
        if (!event) break;
        const doc = (event as Document).fullDocument as Document;
        values.push(doc._id, doc.v, doc.name);
        rows++;
        if (stream.bufferedCount() === 0) break;
      }
      if (rows === 0) continue;
      if (first === 0) first = performance.now();
      await sql.query("BEGIN");
      await sql.query({ name: `raw_${rows}`, text: statement(rows), values });
      await sql.query("COMMIT");
      copied += rows;
    }
    return (performance.now() - first) / 1000;
  } finally {
    await stream.close();
    await sql.end();
  }
}

async function changeStreamToPostgres(uri: string) {
  const client = new MongoClient(uri);
  const sql = new pg.Client({ connectionString: POSTGRES_URL });
  await sql.connect();
  const db = uniqueName("bench_pg");
  const tables: string[] = [];
  const table = async (prefix: string) => {
    const name = uniqueName(prefix);
    await sql.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v int, name text)`);
    tables.push(name);
    return name;
  };
  try {
    const token = await prepareChangeStream(client, db);
    log(`(iv) inserted ${DOCS} documents into ${db}.events`);
    const { rawSeconds, eddySeconds } = await alternate(
      async () => rawChangeStreamToPostgres(client, db, token, await table("raw_pg")),
      async () => {
        const target = await table("eddy_pg");
        return runEddy(
          {
            name: target,
            pipeline: [
              { $source: { connectionName: "c", db, coll: "events", config: { startAfter: token } } },
              {
                $emit: {
                  connectionName: "pg",
                  table: target,
                  conflictColumns: ["id"],
                  columns: { id: "fullDocument._id", v: "fullDocument.v", name: "fullDocument.name" },
                },
              },
            ],
          },
          [
            { name: "c", type: "Cluster", config: { uri } },
            { name: "pg", type: "PostgreSQL", config: { connectionString: POSTGRES_URL } },
          ],
          DOCS,
        );
      },
    );
    return ratioRow("change stream → PostgreSQL upsert", DOCS, eddySeconds, rawSeconds, 0.8);
  } finally {
    for (const name of tables) await sql.query(`DROP TABLE IF EXISTS ${name}`).catch(() => undefined);
    await sql.query(`DELETE FROM eddy_offsets WHERE processor LIKE 'eddy_pg%'`).catch(() => undefined);
    await sql.end();
    await client
      .db(db)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  }
}

// ---------------------------------------------------------------- (iii) latency at a fixed rate

async function latency(brokers: string[]) {
  const input = uniqueName("bench_lat_in");
  const output = uniqueName("bench_lat_out");
  const admin = new Admin({ clientId: "bench-connectors", bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [input, output], partitions: 1, replicas: 1 });
  await admin.close();
  const catalog = new MapConnectionCatalog([
    { name: "k", type: "Kafka", config: { bootstrapServers: brokers.join(",") } },
  ]);
  const plan = planProcessor(
    {
      name: "bench_latency",
      pipeline: [
        {
          $source: {
            connectionName: "k",
            topic: input,
            config: { auto_offset_reset: "earliest", group_id: uniqueName("g") },
          },
        },
        { $addFields: { seen: true } },
        { $emit: { connectionName: "k", topic: output } },
      ],
    },
    { connectors: CONNECTORS, connections: catalog },
  );
  const clients = new ConnectorClients(catalog);
  const sink = await createSink(plan, catalog, process.stdout, clients);
  const runtime = new ProcessorRuntime(plan, {
    source: await createSource(plan, catalog, process.stdin, clients),
    sink,
  });
  const running = runtime.run();

  const consumer = new Consumer({
    clientId: "bench-lat",
    groupId: uniqueName("lat"),
    bootstrapBrokers: brokers,
  });
  const stream = await consumer.consume({
    topics: [output],
    mode: "earliest",
    autocommit: false,
    maxWaitTime: 10,
  });
  const total = RATE * SECONDS;
  const warmup = RATE; // the first second
  const latencies: number[] = [];
  let received = 0;
  const allReceived = new Promise<void>((resolve) => {
    stream.on("data", (message: KafkaMessage) => {
      const doc = JSON.parse(message.value.toString()) as { seq: number; t: number };
      if (doc.seq >= warmup) latencies.push(performance.timeOrigin + performance.now() - doc.t);
      if (++received >= total) resolve();
    });
  });
  // Give the processor's consumer group time to join before the clock starts.
  await sleep(3000);

  const producer = new Producer({
    clientId: "bench-lat",
    bootstrapBrokers: brokers,
    acks: ProduceAcks.LEADER,
  });
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
  const started = performance.now();
  for (let seq = 0, tick = 0; seq < total; tick++) {
    const due = started + tick * tickMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const messages = [];
    for (let i = 0; i < perTick && seq < total; i++, seq++) {
      messages.push({
        topic: input,
        value: Buffer.from(JSON.stringify({ seq, t: performance.timeOrigin + performance.now() })),
      });
    }
    void producer.send({ messages });
  }
  const producedIn = (performance.now() - started) / 1000;
  await Promise.race([allReceived, sleep(60_000)]);
  runtime.stop();
  await running;
  await sink.close(); // its producer would keep the process alive
  await clients.close();
  await stream.close();
  await consumer.close(true);
  await producer.close();
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    name: "latency Kafka → $addFields → Kafka",
    ratePerSecond: RATE,
    achievedRatePerSecond: Math.round(total / producedIn),
    measured: latencies.length,
    received,
    p50Ms: Math.round(pick(0.5) * 10) / 10,
    p99Ms: Math.round(pick(0.99) * 10) / 10,
    maxMs: Math.round(pick(1) * 10) / 10,
  };
}

function ratioRow(name: string, count: number, eddySeconds: number, rawSeconds: number, target: number) {
  const eddyPerSecond = Math.round(count / eddySeconds);
  const rawPerSecond = Math.round(count / rawSeconds);
  const ratio = Math.round((eddyPerSecond / rawPerSecond) * 1000) / 1000;
  return { name, count, eddyPerSecond, rawPerSecond, ratio, target, met: ratio >= target };
}

// ---------------------------------------------------------------- main

/** KAFKA_BROKERS, else the shared test broker (started if it is not running). */
async function kafkaBrokers(): Promise<{ brokers: string[]; services?: RunningServices }> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS.split(",") };
  const shared = `${HOST}:${ports.kafka}`;
  if (await isKafkaUp(shared)) return { brokers: [shared] };
  const services = await startServices();
  return { brokers: services.endpoints.kafkaBrokers, services };
}

const { brokers, services } = await kafkaBrokers();
let privateMongo: PrivateMongo | undefined;
try {
  const external = process.env.MONGODB_URI;
  if (!external && (args.only === undefined || args.only === "changestream" || args.only === "postgres"))
    privateMongo = await startPrivateMongo({ persistent: false });
  const mongoUri = external ?? privateMongo?.uri ?? "";
  const wanted = (name: string) => args.only === undefined || args.only === name;
  const throughput = [];
  if (wanted("kafka")) throughput.push(await kafkaToKafka(brokers));
  if (wanted("changestream")) throughput.push(await changeStreamToMerge(mongoUri));
  if (wanted("postgres")) throughput.push(await changeStreamToPostgres(mongoUri));
  const lat = wanted("latency") ? await latency(brokers) : undefined;
  const result = {
    throughput,
    latency: lat,
    rounds: ROUNDS,
    node: process.version,
    mongo: external ? "MONGODB_URI" : "private stand-in",
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    console.log("\nthroughput (events/s)");
    console.table(
      throughput.map((r) => ({
        case: r.name,
        events: r.count,
        eddy: r.eddyPerSecond,
        raw: r.rawPerSecond,
        ratio: `${(r.ratio * 100).toFixed(1)} %`,
        target: `≥ ${r.target * 100} %`,
        met: r.met ? "yes" : "NO",
      })),
    );
    if (lat)
      console.log(
        `\nlatency at ${lat.ratePerSecond} events/s (achieved ${lat.achievedRatePerSecond}/s, ${lat.measured} measured): ` +
          `p50 ${lat.p50Ms} ms, p99 ${lat.p99Ms} ms, max ${lat.maxMs} ms`,
      );
  }
} finally {
  await privateMongo?.dispose();
  await services?.stop();
}
