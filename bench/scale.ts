/**
 * Scale-out benchmark (docs/scale-out.md): one processor with `options.parallelism: 3` run by 1, 2 and 3
 * `sp serve` processes sharing a MongoDB state store, against the same processor without parallelism on one
 * server (no repartition) as the baseline measured in the same run.
 *
 *   npm run bench:scale                     table
 *   npm run bench:scale -- --json           one JSON object with every figure
 *   npm run bench:scale -- --records 30000  a smaller input (default 60,000)
 *   npm run bench:scale -- --runs 1         the baseline and only the 1-instance scaled run (default 1,2,3)
 *   npm run bench:scale -- --keyed-runs 3   the message-key case on 3 instances only (default 1,3; "" for none)
 *
 * The processor: a 6-partition topic, a 1-second tumbling window `$group`ed by `sensor` (not the message
 * key, so the scaled-out runs repartition through `eddy-<processor>-repartition`), `$merge` of each window.
 * Per run: the servers start, the processor starts and its tasks spread (one per server, each holding
 * repartition partitions and reading source partitions: both consumer groups settled); then the whole
 * input is produced and the clock runs until every window is in MongoDB. Aggregate throughput is input
 * records per second over that span; per-instance CPU is user + system time from /proc over the same span
 * (1.0 = one core busy), `cpuMicrosPerRecord` all instances' CPU time over the input records, and
 * `idleCores` what the instances used in the two quiet seconds before the input (part of every run's CPU).
 *
 * The message-key case (`keyed<n>`): the same window `$group`ed by `$_stream_meta.source.key` instead,
 * with every sensor's messages keyed `sensor-<s>` in one partition (as a key partitioner puts them), so
 * the scaled-out runs take the path without a repartition: each task runs the whole pipeline per source
 * partition. The machine's load average is reported with the figures: on a shared machine the
 * ratios, not the absolute rates, are what to read.
 *
 * Kafka: KAFKA_BROKERS, else the shared test broker. MongoDB: MONGODB_URI, else the shared stand-in.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Producer } from "@platformatic/kafka";
import { MongoClient } from "mongodb";
import { HOST, ports } from "../scripts/services/config.ts";
import { repartitionTopic } from "../src/connectors/kafka/repartition.ts";
import type { SharedServe } from "../test/support/sp-serve.ts";
import {
  BASE,
  createTopic,
  deleteTopics,
  kafkaClient,
  PARTITIONS,
  scaleConnections,
  sharedStoreServers,
  windowPipeline,
} from "../test/scale/fixtures.ts";

const args = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    records: { type: "string", default: "60000" },
    progress: { type: "boolean", default: false },
    runs: { type: "string", default: "1,2,3" },
    "keyed-runs": { type: "string", default: "1,3" },
  },
}).values;
const RECORDS = Number(args.records);
const SENSORS = 24;
const PER_SECOND = 1_000; // event-time rate: RECORDS / PER_SECOND seconds of windows
const brokers = (process.env.KAFKA_BROKERS ?? `${HOST}:${ports.kafka}`).split(",");
const mongoUri = process.env.MONGODB_URI ?? `mongodb://${HOST}:${ports.mongo}/?directConnection=true`;
const endpoints = { kafkaBrokers: brokers, mongodbUri: mongoUri };
const run = randomBytes(3).toString("hex");
const kafka = kafkaClient(endpoints, "eddy-bench-scale");

function log(text: string): void {
  if (!args.json) process.stderr.write(`${text}\n`);
}

const children: ChildProcess[] = [];

function serve(stateDb: string, index: number): Promise<SharedServe> {
  // The server's default TTL: a shorter one on a loaded machine makes renewals lapse and partitions restart.
  return sharedStoreServers({ mongodbUri: mongoUri, stateDb, leaseTtlMs: 15_000, children })(
    `bench-${index}`,
  );
}

async function call(
  server: SharedServe,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const reply = await server.call(method, path, body);
  if (reply.status >= 400)
    throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** CPU seconds (user + system) a process used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function until<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How the input is keyed and what the window groups by. */
type Layout = "field" | "messageKey";

async function produce(topic: string, layout: Layout): Promise<void> {
  const producer = new Producer({ ...kafka, autocreateTopics: false, acks: 1 });
  const batch = 5_000;
  const seconds = Math.ceil(RECORDS / PER_SECOND);
  for (let i = 0; i < RECORDS + PARTITIONS * SENSORS; i += batch) {
    const messages = [];
    for (let n = i; n < Math.min(i + batch, RECORDS + PARTITIONS * SENSORS); n++) {
      // The last PARTITIONS × SENSORS records are far-future closers: one per sensor on every partition.
      const closer = n >= RECORDS;
      const partition = n % PARTITIONS;
      const round = Math.floor((closer ? n - RECORDS : n) / PARTITIONS);
      // Grouped by a field: every partition carries every sensor, so each repartition partition hears from
      // every source partition and its watermark moves as a single task's does. Grouped by the message key:
      // a sensor's messages are all in partition sensor % PARTITIONS.
      const sensor =
        layout === "field" ? round % SENSORS : partition + PARTITIONS * (round % (SENSORS / PARTITIONS));
      const ts = closer ? BASE + (seconds + 3600) * 1000 : BASE + Math.floor((n * 1000) / PER_SECOND);
      messages.push({
        topic,
        partition,
        key: Buffer.from(layout === "field" ? `device-${n % 1000}` : `sensor-${sensor}`),
        value: Buffer.from(JSON.stringify({ sensor, ts, value: n % 100, device: `device-${n % 1000}` })),
      });
    }
    await producer.send({ messages });
  }
  await producer.close();
}

interface RunResult {
  readonly label: string;
  readonly instances: number;
  readonly parallelism: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** Cores used per instance over the measured span. */
  readonly cpu: readonly number[];
  /** CPU time of all instances per input record, in µs. */
  readonly cpuMicrosPerRecord: number;
  /** Cores all instances used in the two quiet seconds before the input. */
  readonly idleCores: number;
  readonly windows: number;
}

async function measure(
  label: string,
  instances: number,
  parallelism: number,
  layout: Layout = "field",
): Promise<RunResult> {
  const stateDb = `eddy_bench_scale_${run}_${label}`;
  const outDb = `eddy_bench_scale_out_${run}`;
  const topic = `eddy_bench_scale_${run}_${label}`;
  const name = `scale-${run}-${label}`;
  await createTopic(endpoints, topic, PARTITIONS);
  const servers = await Promise.all(Array.from({ length: instances }, (_, i) => serve(stateDb, i)));
  const mongo = new MongoClient(mongoUri);
  try {
    const [first] = servers;
    for (const connection of scaleConnections(endpoints))
      await call(first, "POST", "/connections", connection);
    await call(first, "POST", "/processors", {
      name,
      ...(parallelism > 1 ? { options: { parallelism } } : {}),
      pipeline: windowPipeline({
        topic,
        groupBy: layout === "field" ? "$sensor" : "$_stream_meta.source.key",
        keyField: "sensor",
        outDb,
        coll: label,
      }),
    });
    await call(first, "POST", `/processors/${name}:start`);
    if (parallelism > 1) {
      // Measure with the tasks spread: one per server, each holding repartition partitions.
      await until(
        async () => {
          const stats = (await call(first, "GET", `/processors/${name}/stats`)).stats as {
            tasks?: Array<{ partitions: number[]; sourcePartitions: string[] }>;
          };
          const tasks = stats.tasks ?? [];
          // Both groups settled: every repartition partition and every source partition held, each task
          // reading some (a rebalance of either in the measured span would stop every task for seconds).
          // Without a repartition, the partitions are the source's and there is no reader.
          const held = tasks.reduce((n, t) => n + t.partitions.length, 0);
          const read = tasks.reduce((n, t) => n + t.sourcePartitions.length, 0);
          const reads = layout === "field";
          const spread = tasks.every(
            (t) => t.partitions.length > 0 && (!reads || t.sourcePartitions.length > 0),
          );
          return tasks.length === Math.min(instances, parallelism) &&
            held === PARTITIONS &&
            (!reads || read === PARTITIONS) &&
            spread
            ? true
            : undefined;
        },
        120_000,
        `${instances} tasks to spread`,
      );
    } else {
      await until(
        async () =>
          ((await call(first, "GET", `/processors/${name}`)).status as { state?: string })?.state ===
          "running"
            ? true
            : undefined,
        60_000,
        "the processor to run",
      );
    }
    // Two quiet seconds before the input: what the instances spend with nothing to read (heartbeats, lease
    // renewals, empty fetches, checkpoints), which the CPU per record of a short run also carries.
    const cpuSettled = await Promise.all(servers.map((s) => cpuSeconds(s.child.pid!)));
    const quietFrom = performance.now();
    await new Promise((r) => setTimeout(r, 2_000));
    const expected = Math.ceil(RECORDS / PER_SECOND) * SENSORS;
    const windows = mongo.db(outDb).collection(label);
    const cpuBefore = await Promise.all(servers.map((s) => cpuSeconds(s.child.pid!)));
    const started = performance.now();
    const idleCores =
      cpuBefore.reduce((sum, before, i) => sum + before - cpuSettled[i], 0) / ((started - quietFrom) / 1000);
    await produce(topic, layout);
    const progress = args.progress
      ? setInterval(() => {
          void (async () => {
            const count = await windows.countDocuments();
            const stats = (await call(first, "GET", `/processors/${name}/stats`)).stats as {
              inputMessageCount?: number;
              tasks?: unknown[];
            };
            log(
              `  ${((performance.now() - started) / 1000).toFixed(1)} s: ${count} windows; ${JSON.stringify(stats.tasks ?? stats.inputMessageCount)}`,
            );
          })().catch(() => undefined);
        }, 2_000)
      : undefined;
    await until(
      async () => ((await windows.countDocuments()) >= expected ? true : undefined),
      600_000,
      `${expected} windows`,
    );
    clearInterval(progress);
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = await Promise.all(servers.map((s) => cpuSeconds(s.child.pid!)));
    const cpuTotal = cpuAfter.reduce((sum, after, i) => sum + after - cpuBefore[i], 0);
    const result: RunResult = {
      label,
      instances,
      parallelism,
      seconds: Math.round(seconds * 100) / 100,
      recordsPerSecond: Math.round(RECORDS / seconds),
      cpu: cpuAfter.map((after, i) => Math.round(((after - cpuBefore[i]) / seconds) * 100) / 100),
      cpuMicrosPerRecord: Math.round((cpuTotal / RECORDS) * 1e7) / 10,
      idleCores: Math.round(idleCores * 100) / 100,
      windows: expected,
    };
    log(
      `${label}: ${instances} instance(s), ${result.recordsPerSecond} records/s over ${result.seconds} s, ` +
        `cpu per instance ${result.cpu.join(" / ")} cores, ${result.cpuMicrosPerRecord} µs per record`,
    );
    await call(first, "POST", `/processors/${name}:stop`).catch(() => undefined);
    return result;
  } finally {
    for (const s of servers) s.child.kill("SIGTERM");
    await Promise.all(
      servers.map(
        (s) => new Promise((r) => (s.child.exitCode !== null ? r(undefined) : s.child.once("exit", r))),
      ),
    );
    await mongo
      .db(stateDb)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close();
    await deleteTopics(endpoints, [topic, repartitionTopic(name)]);
  }
}

const loadBefore = loadavg();
const runs: RunResult[] = [];
runs.push(await measure("single", 1, 1));
for (const instances of args.runs.split(",").map(Number))
  runs.push(await measure(`scaled${instances}`, instances, 3));
for (const instances of args["keyed-runs"].split(",").filter(Boolean).map(Number))
  runs.push(await measure(`keyed${instances}`, instances, 3, "messageKey"));
const single = runs[0].recordsPerSecond;
const oneScaled = runs[1].recordsPerSecond;
const result = {
  records: RECORDS,
  partitions: PARTITIONS,
  sensors: SENSORS,
  runs: runs.map((r) => ({
    ...r,
    ratioToSingle: Math.round((r.recordsPerSecond / single) * 100) / 100,
    ratioToOneInstance: Math.round((r.recordsPerSecond / oneScaled) * 100) / 100,
  })),
  loadavg: {
    before: loadBefore.map((l) => Math.round(l * 100) / 100),
    after: loadavg().map((l) => Math.round(l * 100) / 100),
  },
  cores: availableParallelism(),
  node: process.version,
};
const cleanupMongo = new MongoClient(mongoUri);
await cleanupMongo
  .db(`eddy_bench_scale_out_${run}`)
  .dropDatabase()
  .catch(() => undefined);
await cleanupMongo.close();
if (args.json) process.stdout.write(JSON.stringify(result) + "\n");
else {
  for (const r of result.runs)
    log(
      `  ${r.label.padEnd(8)} ${String(r.instances).padStart(2)} inst  ${String(r.recordsPerSecond).padStart(7)} rec/s  ` +
        `×${r.ratioToSingle} of single, ×${r.ratioToOneInstance} of one scaled instance  cpu ${r.cpu.join("/")}  ` +
        `${r.cpuMicrosPerRecord} µs/record`,
    );
  log(
    `  load average before ${result.loadavg.before.join(" ")}, after ${result.loadavg.after.join(" ")}; ${result.cores} cores`,
  );
}
