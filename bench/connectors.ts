/**
 * Connector benchmark: Eddy's runtime and connectors against the raw clients doing the same I/O with no
 * processing, measured in the same run on the same data.
 *
 *   node bench/connectors.ts [--messages 200000] [--docs 50000] [--rates 10000,100000] [--seconds 10]
 *                            [--rounds 3] [--peer-messages 1000000] [--peer-rounds 2] [--rate 10000]
 *                            [--only kafka|changestream|postgres|latency|peers] [--json]
 *                            [--gc-trace] [--young-generation <MiB>]
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
 *       warm-up (the first 30 % of the events), at each of `--rates`, with the share of that time the processor's process spent in GC
 *       (Eddy runs in a child process, bench/eddy-processor.ts), and the raw client's copy alongside.
 *       `--gc-trace` adds each side's `gcTrace` (bench/gc-trace.ts): bytes allocated per event, scavenges
 *       with their mean/max pause and the bytes each kept (copied, promoted), mark-compacts.
 *       `--young-generation <MiB>` caps both children's young generation as `sp process` does.
 * (v)   Peers: Eddy, Kafka Streams and Apache Flink (bench/peers.ts, each in its own JVM) on the same topics:
 *       (a) the stateless $match/$addFields copy (the raw client's copy alongside), (b) a 60 s hopping
 *       window with a 10 s hop over 10,000 keys (avg/min/max/count). events/s from the first record read
 *       to the last output acknowledged (medians of `--peer-rounds` after a warm-up round in the same
 *       process), CPU per event, and p50/p99 of (a) at `--rate`. A peer that cannot be built (no Maven,
 *       no JDK) is skipped with the reason.
 *
 * Each throughput case runs one uncounted warm-up round of each side, then `--rounds` rounds (default 3)
 * alternating which side goes first; medians are reported.
 *
 * Kafka is the shared test broker (scripts/services, or KAFKA_BROKERS), with unique topics. MongoDB is a
 * private in-memory stand-in started for the run (the shared one is busy with other tests and keeps an
 * ever-growing oplog), or MONGODB_URI when set.
 */
import { Admin, Consumer, ProduceAcks, Producer, type Message } from "@platformatic/kafka";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
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
import type { GcTrace } from "./gc-trace.ts";
import { preparePeer, runPeer, startPeer, stopPeer, type PeerJob, type PeerName } from "./peers.ts";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "200000" },
    docs: { type: "string", default: "50000" },
    /** Rate of the peers' latency runs (job a). */
    rate: { type: "string", default: "10000" },
    /** Rates of the Kafka → $addFields → Kafka latency case. */
    rates: { type: "string", default: "10000,100000" },
    /** Events per job of the peers case (v), and its timed rounds (after one warm-up round). */
    "peer-messages": { type: "string", default: "1000000" },
    "peer-rounds": { type: "string", default: "2" },
    seconds: { type: "string", default: "10" },
    /** Rounds per throughput case (raw and Eddy alternate which goes first); medians are reported. */
    rounds: { type: "string", default: "3" },
    json: { type: "boolean", default: false },
    /** Latency case: each side's GC trace (bench/gc-trace.ts) in the results. */
    "gc-trace": { type: "boolean", default: false },
    /** Latency case: cap the processor children's young generation at this many MiB. */
    "young-generation": { type: "string" },
    /** Run one case only: kafka, changestream, postgres, latency or peers. */
    only: { type: "string" },
  },
});
const MESSAGES = Number(args.messages);
const DOCS = Number(args.docs);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const ROUNDS = Math.max(1, Number(args.rounds));
const GC_TRACE = args["gc-trace"];
const YOUNG_GENERATION_MB =
  args["young-generation"] === undefined ? undefined : Number(args["young-generation"]);
const RATES = args.rates.split(",").map(Number);
const PEER_MESSAGES = Number(args["peer-messages"]);
const PEER_ROUNDS = Math.max(1, Number(args["peer-rounds"]));
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
/**
 * `promise`, or `onTimeout` after `ms`. The timer keeps the process alive while the wait lasts (an unref'd
 * one let the run exit mid-wait, with an unsettled await, when nothing else held the event loop) and is
 * cleared as soon as the wait is over (a pending one kept the finished run alive until it fired).
 */
function within<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<U>((resolve) => (timer = setTimeout(() => resolve(onTimeout), ms)));
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

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
    ...(source.rereadsUnhandledRecords ? { rereadsUnhandledRecords: true } : {}),
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
        { name: "bench_kafka", pipeline: copyPipeline(input, await newTopic(brokers, "bench_eddy_out")) },
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

interface LatencyStats {
  ratePerSecond: number;
  achievedRatePerSecond: number;
  measured: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Produces `rate` events/s for `seconds` to `input` (each value `{seq, v, t}`, t its produce time) and
 * consumes `output`, where a processor started by the caller writes each event (with fields added);
 * now − t per event, after a warm-up of the first 30 % of the events (JIT compilers, the JVMs' above all;
 * `onMeasure` is called when the measured part starts).
 * Probes (seq −1) go first until one comes out, so the processor has joined its group and is reading
 * before the clock starts.
 */
async function pacedLatency(
  brokers: string[],
  input: string,
  output: string,
  rate: number,
  seconds: number,
  onMeasure: () => void = () => undefined,
): Promise<LatencyStats> {
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
  const total = rate * seconds;
  const warmup = Math.ceil(total * 0.3);
  const latencies: number[] = [];
  let received = 0;
  let ready = false;
  const allReceived = new Promise<void>((resolve) => {
    stream.on("data", (message: KafkaMessage) => {
      const now = performance.timeOrigin + performance.now();
      const doc = JSON.parse(message.value.toString()) as { seq: number; t: number };
      if (doc.seq < 0) {
        ready = true;
        return;
      }
      if (doc.seq >= warmup) latencies.push(now - doc.t);
      if (++received >= total) resolve();
    });
  });
  const producer = new Producer({
    clientId: "bench-lat",
    bootstrapBrokers: brokers,
    acks: ProduceAcks.LEADER,
  });
  const stamp = (seq: number) =>
    Buffer.from(
      JSON.stringify({ seq, v: Math.abs(seq) % 100, t: performance.timeOrigin + performance.now() }),
    );
  const probeUntil = performance.now() + 120_000;
  while (!ready) {
    if (performance.now() > probeUntil) throw new Error(`no output on ${output} after 120 s of probes`);
    await producer.send({ messages: [{ topic: input, value: stamp(-1) }] });
    await sleep(250);
  }
  await sleep(500);

  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const started = performance.now();
  let measuring = false;
  for (let seq = 0, tick = 0; seq < total; tick++) {
    const due = started + tick * tickMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (seq >= warmup && !measuring) {
      measuring = true;
      onMeasure();
    }
    const messages = [];
    for (let i = 0; i < perTick && seq < total; i++, seq++)
      messages.push({ topic: input, value: stamp(seq) });
    void producer.send({ messages });
  }
  const producedIn = (performance.now() - started) / 1000;
  await within(allReceived, 60_000, undefined);
  await stream.close();
  await consumer.close(true);
  await producer.close();
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    ratePerSecond: rate,
    achievedRatePerSecond: Math.round(total / producedIn),
    measured: latencies.length,
    received,
    p50Ms: round1(pick(0.5)),
    p99Ms: round1(pick(0.99)),
    maxMs: round1(pick(1)),
  };
}

const round1 = (ms: number) => Math.round(ms * 10) / 10;

interface ProcessStats {
  gcMs: number;
  gcPauses: number;
  gcMaxMs: number;
  measuredMs: number;
  cpuMs: number;
  /** Heap in use when the measured part ended. */
  heapMb: number;
  /** Eddy: non-empty batches its source handed over, and their records; the raw copy: messages read. */
  batches?: number;
  records?: number;
  gcTrace?: GcTrace;
}

/**
 * Starts a processor in a child process (bench/eddy-processor.ts), so that the latency runs' producer
 * and consumer do not share its event loop. `mark()` starts its GC count; `stop()` ends it and returns
 * its GC pauses and CPU since the mark.
 */
async function startEddy(
  definition: { name: string; pipeline: Doc[] } | undefined,
  connections: ConnectionEntry[] = [],
  raw?: { brokers: string[]; input: string; output: string },
) {
  const child = spawn(
    process.execPath,
    [
      join(import.meta.dirname, "eddy-processor.ts"),
      JSON.stringify({
        ...(raw ? { raw } : { definition, connections }),
        gcTrace: GC_TRACE,
        youngGenerationMb: YOUNG_GENERATION_MB,
      }),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    mark() {
      child.stdin.write("mark\n");
    },
    async stop(): Promise<ProcessStats> {
      child.stdin.write("stop\n");
      const code = await within(exited, 30_000, "timeout" as const);
      if (code !== 0) {
        child.kill("SIGKILL");
        throw new Error(`the Eddy processor child did not stop cleanly (${code})`);
      }
      const line = stdout.trim().split("\n").at(-1) ?? "{}";
      return JSON.parse(line) as ProcessStats;
    },
  };
}

async function topicPair(brokers: string[], prefix: string): Promise<[string, string]> {
  const input = uniqueName(`${prefix}_in`);
  const output = uniqueName(`${prefix}_out`);
  const admin = new Admin({ clientId: "bench-connectors", bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [input, output], partitions: 1, replicas: 1 });
  await admin.close();
  return [input, output];
}

/**
 * Kafka → `$addFields` → Kafka at `rate` events/s, the processor in its own process, with its GC share;
 * then the raw client's copy at the same rate, in the same kind of process (the floor on this machine).
 */
async function latency(brokers: string[], rate: number) {
  const [input, output] = await topicPair(brokers, "bench_lat");
  const eddy = await measureLatency(brokers, input, output, rate, {
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
  });
  const [rawInput, rawOutput] = await topicPair(brokers, "bench_lat_raw");
  const raw = await measureLatency(brokers, rawInput, rawOutput, rate);
  log(`    latency at ${rate}/s: eddy p99 ${eddy.p99Ms} ms, raw client p99 ${raw.p99Ms} ms`);
  return { name: "latency Kafka → $addFields → Kafka", ...eddy, raw };
}

/** One paced run through a processor in a child process (`definition`), or the raw client's copy. */
async function measureLatency(
  brokers: string[],
  input: string,
  output: string,
  rate: number,
  definition?: { name: string; pipeline: Doc[] },
) {
  const processor = await startEddy(
    definition,
    [{ name: "k", type: "Kafka", config: { bootstrapServers: brokers.join(",") } }],
    definition ? undefined : { brokers, input, output },
  );
  const outcome = await pacedLatency(brokers, input, output, rate, SECONDS, () => processor.mark()).then(
    (stats) => ({ stats }),
    (error: unknown) => ({ error }),
  );
  const processStats = await processor.stop();
  if ("error" in outcome) throw outcome.error;
  return {
    ...outcome.stats,
    gcShare: Math.round((processStats.gcMs / processStats.measuredMs) * 1000) / 1000,
    gcPauses: processStats.gcPauses,
    gcMaxMs: round1(processStats.gcMaxMs),
    cpuShare: Math.round((processStats.cpuMs / processStats.measuredMs) * 1000) / 1000,
    heapMb: processStats.heapMb,
    ...(processStats.records
      ? { cpuUsPerEvent: round1((processStats.cpuMs * 1000) / processStats.records) }
      : {}),
    ...(processStats.gcTrace ? { gcTrace: processStats.gcTrace } : {}),
    ...(processStats.batches
      ? { meanBatch: Math.round((processStats.records ?? 0) / processStats.batches) }
      : {}),
  };
}

// ---------------------------------------------------------------- (v) peers: Kafka Streams and Flink

const PEERS: readonly PeerName[] = ["kafka-streams", "flink"];
const KEYS = 10_000;
/** Event time of the window job's input: 10,000 events per second of event time, 10 per millisecond. */
const EVENTS_PER_MS = 10;

interface SystemRow {
  system: string;
  eventsPerSecond?: number;
  /** CPU of the whole process per input event (the JVM's or this Node process'). */
  cpuUsPerEvent?: number;
  roundsSeconds?: number[];
  p50Ms?: number;
  p99Ms?: number;
  skipped?: string;
}

/** `$source` on connection `k`'s `input` from the earliest offset, in a fresh group. */
function kafkaSource(input: string): Doc {
  return {
    $source: {
      connectionName: "k",
      topic: input,
      config: { auto_offset_reset: "earliest", group_id: uniqueName("g") },
    },
  };
}

function copyPipeline(input: string, output: string): Doc[] {
  return [
    kafkaSource(input),
    { $match: { v: { $gte: 0 } } },
    { $addFields: { doubled: { $multiply: ["$v", 2] } } },
    { $emit: { connectionName: "k", topic: output } },
  ];
}

function windowPipeline(input: string, output: string): Doc[] {
  return [
    kafkaSource(input),
    {
      $hoppingWindow: {
        interval: { size: 60, unit: "second" },
        hopSize: { size: 10, unit: "second" },
        pipeline: [
          {
            $group: {
              _id: "$key",
              avg: { $avg: "$v" },
              min: { $min: "$v" },
              max: { $max: "$v" },
              count: { $sum: 1 },
            },
          },
        ],
      },
    },
    { $emit: { connectionName: "k", topic: output } },
  ];
}

/**
 * The window job's input: `{key, v}` keyed by `key` (10,000 keys in turn), record timestamps 10 per ms
 * from a minute boundary, then one record two minutes after the last that closes every window with data
 * (and opens none that closes). Returns how many window results that makes: the distinct keys of every
 * 60 s window starting on a 10 s boundary.
 */
/** Where the window job's event time starts: a minute boundary an hour ago, fixed for the run. */
const WINDOW_BASE = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;

function windowRecord(topic: string, key: string, v: number, ts: number) {
  return {
    topic,
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify({ key, v })),
    timestamp: BigInt(ts),
  };
}

/** The record that closes every window of the job's data (two minutes after the last event). */
function windowFlush(topic: string) {
  return windowRecord(
    topic,
    "flush",
    0,
    WINDOW_BASE + Math.floor((PEER_MESSAGES - 1) / EVENTS_PER_MS) + 120_000,
  );
}

async function produceWindowInput(brokers: string[], topic: string, count: number): Promise<number> {
  const base = WINDOW_BASE;
  const producer = new Producer({
    clientId: "bench-connectors",
    bootstrapBrokers: brokers,
    acks: ProduceAcks.LEADER,
  });
  const record = (key: string, v: number, ts: number) => windowRecord(topic, key, v, ts);
  for (let start = 0; start < count; start += 5000) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 5000); i++)
      messages.push(record(`k${i % KEYS}`, (i * 7) % 1000, base + Math.floor(i / EVENTS_PER_MS)));
    await producer.send({ messages });
  }
  const lastTs = base + Math.floor((count - 1) / EVENTS_PER_MS);
  await producer.send({ messages: [windowFlush(topic)] });
  await producer.close();
  let results = 0;
  for (let windowStart = base - 50_000; windowStart <= lastTs; windowStart += 10_000) {
    const from = Math.max(0, (windowStart - base) * EVENTS_PER_MS);
    const to = Math.min(count, (windowStart + 60_000 - base) * EVENTS_PER_MS);
    if (to > from) results += Math.min(KEYS, to - from);
  }
  return results;
}

/** Median of the timed rounds (the first of `seconds` is the warm-up); events/s and CPU per event. */
function systemRow(system: string, events: number, seconds: number[], cpuMs: number[]): SystemRow {
  const timed = seconds.slice(1);
  const cpu = cpuMs.slice(1);
  return {
    system,
    eventsPerSecond: Math.round(events / median(timed)),
    cpuUsPerEvent: Math.round((median(cpu) * 1000 * 100) / events) / 100,
    roundsSeconds: seconds.map((t) => Math.round(t * 1000) / 1000),
  };
}

async function eddyRounds(job: PeerJob, brokers: string[], input: string, events: number, expected: number) {
  const seconds: number[] = [];
  const cpuMs: number[] = [];
  for (let round = 0; round <= PEER_ROUNDS; round++) {
    const output = await newTopic(brokers, `bench_eddy_${job}`);
    const cpu = process.cpuUsage();
    seconds.push(
      await runEddy(
        {
          name: `bench_peers_${job}`,
          pipeline: job === "copy" ? copyPipeline(input, output) : windowPipeline(input, output),
        },
        [{ name: "k", type: "Kafka", config: { bootstrapServers: brokers.join(",") } }],
        expected,
      ),
    );
    const used = process.cpuUsage(cpu);
    cpuMs.push((used.user + used.system) / 1000);
  }
  log(`    eddy ${job}: ${seconds.map((t) => t.toFixed(2)).join(", ")} s`);
  return systemRow("eddy", events, seconds, cpuMs);
}

async function peerRounds(
  name: PeerName,
  job: PeerJob,
  brokers: string[],
  input: string,
  events: number,
  expected: number,
) {
  const skip = preparePeer(name);
  if (skip) {
    log(`    ${name}: skipped (${skip})`);
    return { system: name, skipped: skip };
  }
  const outputs: string[] = [];
  for (let round = 0; round <= PEER_ROUNDS; round++)
    outputs.push(await newTopic(brokers, `bench_${name.replace("-", "_")}_${job}`));
  const rounds = await runPeer({ name, job, broker: brokers[0], input, expected, outputs }, 900_000);
  const seconds = rounds.map((r) => (r.lastMs - r.firstMs) / 1000);
  log(`    ${name} ${job}: ${seconds.map((t) => t.toFixed(2)).join(", ")} s`);
  return systemRow(
    name,
    events,
    seconds,
    rounds.map((r) => r.cpuMs),
  );
}

/** p50/p99 of job (a) at RATE events/s, each system started on its own pair of topics. */
async function peerLatency(system: string, brokers: string[]): Promise<Pick<SystemRow, "p50Ms" | "p99Ms">> {
  const [input, output] = await topicPair(brokers, `bench_lat_${system.replace("-", "_")}`);
  const measure = async () => {
    const stats = await pacedLatency(brokers, input, output, RATE, SECONDS);
    log(`    ${system} latency at ${RATE}/s: p50 ${stats.p50Ms} ms, p99 ${stats.p99Ms} ms`);
    return { p50Ms: stats.p50Ms, p99Ms: stats.p99Ms };
  };
  if (system === "eddy") {
    const eddy = await startEddy({ name: "bench_peers_latency", pipeline: copyPipeline(input, output) }, [
      { name: "k", type: "Kafka", config: { bootstrapServers: brokers.join(",") } },
    ]);
    const outcome = await measure().then(
      (stats) => ({ stats }),
      (error: unknown) => ({ error }),
    );
    await eddy.stop();
    if ("error" in outcome) throw outcome.error;
    return outcome.stats;
  }
  const child = startPeer(system as PeerName, "copy", brokers[0], input, output);
  try {
    return await measure();
  } finally {
    await stopPeer(child);
  }
}

async function peers(brokers: string[]) {
  const copyInput = await newTopic(brokers, "bench_peers_copy_in");
  await produceAll(brokers, copyInput, PEER_MESSAGES, (i) => ({
    id: i,
    v: i % 100,
    name: `sensor-${i % 50}`,
  }));
  log(`(v) produced ${PEER_MESSAGES} messages to ${copyInput}`);
  const rawSeconds: number[] = [];
  const rawCpu: number[] = [];
  for (let round = 0; round <= PEER_ROUNDS; round++) {
    const cpu = process.cpuUsage();
    rawSeconds.push(
      await rawKafkaCopy(brokers, copyInput, await newTopic(brokers, "bench_raw_out"), PEER_MESSAGES),
    );
    const used = process.cpuUsage(cpu);
    rawCpu.push((used.user + used.system) / 1000);
  }
  log(`    raw client copy: ${rawSeconds.map((t) => t.toFixed(2)).join(", ")} s`);
  const copy: SystemRow[] = [
    systemRow("raw client (no processing)", PEER_MESSAGES, rawSeconds, rawCpu),
    await eddyRounds("copy", brokers, copyInput, PEER_MESSAGES, PEER_MESSAGES),
  ];
  for (const name of PEERS)
    copy.push(await peerRounds(name, "copy", brokers, copyInput, PEER_MESSAGES, PEER_MESSAGES));
  for (const row of copy.slice(1))
    if (!row.skipped) Object.assign(row, await peerLatency(row.system, brokers));

  const windowInput = await newTopic(brokers, "bench_peers_window_in");
  const windowResults = await produceWindowInput(brokers, windowInput, PEER_MESSAGES);
  log(
    `(v) produced ${PEER_MESSAGES} + 1 records to ${windowInput}: ${windowResults} window results expected`,
  );
  // Kafka Streams checks for closed windows at most once a second of wall time, and only when a record
  // arrives: a record at the closing time every 500 ms lets it emit the last windows (it opens none).
  const ticker = new Producer({
    clientId: "bench-connectors",
    bootstrapBrokers: brokers,
    acks: ProduceAcks.LEADER,
  });
  const tick = setInterval(
    () => void ticker.send({ messages: [windowFlush(windowInput)] }).catch(() => undefined),
    500,
  );
  const window: SystemRow[] = [];
  try {
    window.push(await eddyRounds("window", brokers, windowInput, PEER_MESSAGES, windowResults));
    for (const name of PEERS)
      window.push(await peerRounds(name, "window", brokers, windowInput, PEER_MESSAGES, windowResults));
  } finally {
    clearInterval(tick);
    await ticker.close();
  }
  return {
    events: PEER_MESSAGES,
    rounds: PEER_ROUNDS,
    latencyRatePerSecond: RATE,
    copy,
    window: { results: windowResults, systems: window },
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
  const lat = [];
  if (wanted("latency")) for (const rate of RATES) lat.push(await latency(brokers, rate));
  const peerResults = wanted("peers") ? await peers(brokers) : undefined;
  const result = {
    throughput,
    latency: lat,
    peers: peerResults,
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
    for (const l of lat)
      console.log(
        `\nlatency at ${l.ratePerSecond} events/s (achieved ${l.achievedRatePerSecond}/s, ${l.measured} measured): ` +
          `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms; GC ${(l.gcShare * 100).toFixed(1)} % ` +
          `of the time (${l.gcPauses} pauses, longest ${l.gcMaxMs} ms); raw client: p50 ${l.raw.p50Ms} ms, ` +
          `p99 ${l.raw.p99Ms} ms`,
      );
    for (const l of lat) {
      for (const [side, run] of [
        ["eddy", l],
        ["raw client", l.raw],
      ] as const) {
        const g = run.gcTrace;
        if (!g) continue;
        console.log(
          `  GC trace, ${side}: ${g.allocatedBytesPerEvent} bytes allocated per event; ${g.scavenges} scavenges ` +
            `(mean ${g.scavengeMeanMs} ms, longest ${g.scavengeMaxMs} ms), each keeping ${g.copiedKbPerScavenge} KB ` +
            `young and promoting ${g.promotedKbPerScavenge} KB; ${g.markCompacts} mark-compacts (longest ` +
            `${g.markCompactMaxMs} ms); young generation ${g.youngGenerationMb} MB`,
        );
      }
    }
    if (peerResults) {
      const table = (rows: SystemRow[]) =>
        console.table(
          rows.map((r) => ({
            system: r.system,
            "events/s": r.eventsPerSecond ?? "—",
            "CPU µs/event": r.cpuUsPerEvent ?? "—",
            [`p99 ms at ${RATE}/s`]: r.p99Ms ?? "—",
            note: r.skipped ?? "",
          })),
        );
      console.log(`\npeers (a): Kafka → $match/$addFields → Kafka, ${peerResults.events} events`);
      table(peerResults.copy);
      console.log(
        `\npeers (b): 60 s hopping window, 10 s hop, ${KEYS} keys, ${peerResults.window.results} results`,
      );
      table(peerResults.window.systems);
    }
  }
} finally {
  await privateMongo?.dispose();
  await services?.stop();
}
