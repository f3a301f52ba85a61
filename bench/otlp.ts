/**
 * OTLP ingest benchmark: protobuf export requests of 512 spans (serialized by the OpenTelemetry SDK's own
 * serializer) from concurrent senders into the receiver, through a raw-ingest processor
 * (`$source {signal: "traces"}` → `$merge`) into MongoDB.
 *
 *   node bench/otlp.ts [--batches 300] [--senders 8] [--seconds 10] [--json]
 *
 * (i)   Throughput into MongoDB: `--senders` clients post `--batches` distinct batches back to back;
 *       spans/s counts from the first request to the moment every span is in MongoDB (a count of the
 *       collection). Baselines in the same run on the same server: the reference bridge's design (an HTTP
 *       handler that decodes and maps the same bodies with the same code and answers after `insertMany`),
 *       and the raw driver writing the pre-mapped documents — `insertMany` (what `$merge` sends for new
 *       documents), and the upserts it sends for documents that exist. Also the CPU time of this process
 *       per span, for Eddy and the bridge: less at the mercy of other load on the machine than rates.
 * (ii)  Eddy's own ceiling: (i) again into bench/null-mongo.ts, a wire-protocol endpoint that acknowledges
 *       writes without storing them, so that MongoDB's cost is out of the figure.
 * (iii) Acknowledgement latency: requests at half the ceiling of (ii) for `--seconds`, the processor
 *       writing meanwhile, each timed from send to its 200 (the spool's fsync included); p50/p99.
 * (iv)  Decoding cost: µs per span of protobuf decoding alone, and of decoding plus mapping to documents.
 *
 * MongoDB is a private in-memory stand-in started for the run, or MONGODB_URI when set.
 */
import { createServer } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { context, trace } from "@opentelemetry/api";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { MongoClient, type AnyBulkWriteOperation, type Filter } from "mongodb";
import { ConnectorClients } from "../src/connectors/clients.ts";
import { CONNECTORS } from "../src/connectors/registry.ts";
import { createSink, createSource } from "../src/connectors/factory.ts";
import { decodeRequest } from "../src/connectors/otlp/decode.ts";
import { decodeProtobufRequest } from "../src/connectors/otlp/protobuf.ts";
import { closeAllReceivers } from "../src/connectors/otlp/receivers.ts";
import type { Doc } from "../src/mql/index.ts";
import { MapConnectionCatalog, planProcessor } from "../src/pipeline/index.ts";
import { ProcessorRuntime } from "../src/runtime/index.ts";
import { startPrivateMongo, type PrivateMongo } from "../scripts/services/private.ts";
import { freePort } from "../scripts/services/private.ts";
import { startNullMongo, type NullMongo } from "./null-mongo.ts";

const { values: args } = parseArgs({
  options: {
    batches: { type: "string", default: "300" },
    senders: { type: "string", default: "8" },
    seconds: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const BATCHES = Number(args.batches);
const SENDERS = Number(args.senders);
const SECONDS = Number(args.seconds);
const SPANS_PER_BATCH = 512;

const log = (text: string) => {
  if (!args.json) process.stderr.write(`${text}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` protobuf bodies of 512 distinct spans each, as the SDK's exporter would send them. */
function makeBodies(count: number): Uint8Array[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": "bench",
      "service.version": "1.0.0",
      "host.name": "h1",
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("bench-scope", "1.0.0");
  const bodies: Uint8Array[] = [];
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < SPANS_PER_BATCH / 2; i++) {
      const parent = tracer.startSpan("GET /api/orders", {
        attributes: {
          "http.method": "GET",
          "http.route": "/api/orders",
          "http.status_code": 200,
          "user.id": i,
        },
      });
      const child = tracer.startSpan(
        "SELECT orders",
        { attributes: { "db.system": "mongodb", "db.name": "shop" } },
        trace.setSpan(context.active(), parent),
      );
      child.end();
      parent.end();
    }
    bodies.push(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans())!);
    memory.reset();
  }
  return bodies;
}

async function post(url: string, body: Uint8Array): Promise<number> {
  const started = performance.now();
  for (;;) {
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf" },
    });
    if (response.status === 200 && (await response.arrayBuffer())) return performance.now() - started;
    if (response.status !== 429 && response.status !== 503)
      throw new Error(`HTTP ${response.status}: ${Buffer.from(await response.arrayBuffer()).toString()}`);
    await sleep(Number(response.headers.get("retry-after") ?? 1) * 1000);
  }
}

/** Posts every body from `SENDERS` concurrent clients; resolves when all were acknowledged. */
async function sendAll(url: string, bodies: Uint8Array[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < bodies.length) await post(url, bodies[next++]!);
    }),
  );
}

/** Where the documents go, and how many arrived there. */
interface Target {
  readonly label: string;
  readonly uri: string;
  readonly client: MongoClient;
  stored(db: string): Promise<number>;
  drop(db: string): Promise<void>;
}

async function waitForCount(target: Target, db: string, expected: number): Promise<number> {
  for (;;) {
    if ((await target.stored(db)) >= expected) return performance.now();
    await sleep(20);
  }
}

/** Eddy: receiver + spool + raw-ingest processor → $merge. */
async function startEddy(uri: string, db: string, spoolDir: string) {
  const port = await freePort();
  const catalog = new MapConnectionCatalog([
    { name: "otel", type: "OTLP", config: { port, spool: { dir: spoolDir, maxBytes: 8 * 1024 ** 3 } } },
    { name: "mongo", type: "Cluster", config: { uri } },
  ]);
  const plan = planProcessor(
    {
      name: "otlp_bench",
      pipeline: [
        { $source: { connectionName: "otel", signal: "traces" } },
        { $merge: { into: { connectionName: "mongo", db, coll: "traces" } } },
      ],
    },
    { connections: catalog, connectors: CONNECTORS },
  );
  const clients = new ConnectorClients(catalog);
  const runtime = new ProcessorRuntime(plan, {
    source: await createSource(plan, catalog, process.stdin, clients),
    sink: await createSink(plan, catalog, process.stdout, clients),
  });
  const running = runtime.run();
  await sleep(300);
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    async stop() {
      runtime.stop();
      await running;
      await clients.close();
      await closeAllReceivers();
    },
  };
}

/** The baseline: decode + map + insertMany in the request handler, answered after the insert. */
async function startBaseline(client: MongoClient, db: string) {
  const coll = client.db(db).collection("traces");
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let records;
      try {
        records = decodeRequest("traces", "protobuf", Buffer.concat(chunks), Date.now()).records;
      } catch (error) {
        res.writeHead(400).end((error as Error).message);
        return;
      }
      coll
        .insertMany(
          records.map((r) => r.doc),
          { ordered: false },
        )
        .then(() => res.writeHead(200, { "content-type": "application/x-protobuf" }).end())
        .catch((error: Error) => res.writeHead(503).end(error.message));
    });
  });
  server.on("clientError", (error) => log(`baseline clientError: ${error.message}`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/v1/traces`, stop: () => new Promise((r) => server.close(r)) };
}

/** CPU time (user + system, every thread of this process) per span since `since`, in µs. */
function cpuPerSpan(since: NodeJS.CpuUsage, spans: number): number {
  const { user, system } = process.cpuUsage(since);
  return Math.round(((user + system) / spans) * 100) / 100;
}

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 10) / 10;
}

function decodingCost(bodies: Uint8Array[]) {
  const sample = bodies.slice(0, Math.min(50, bodies.length));
  const spans = sample.length * SPANS_PER_BATCH;
  for (const body of sample) decodeRequest("traces", "protobuf", body, 0); // warm-up
  let t0 = performance.now();
  for (const body of sample) decodeProtobufRequest("traces", body);
  const decodeUs = ((performance.now() - t0) * 1000) / spans;
  t0 = performance.now();
  for (const body of sample) decodeRequest("traces", "protobuf", body, 0);
  const decodeMapUs = ((performance.now() - t0) * 1000) / spans;
  const bytesPerSpan = sample.reduce((n, b) => n + b.length, 0) / spans;
  return {
    decodeMicrosPerSpan: Math.round(decodeUs * 100) / 100,
    decodeAndMapMicrosPerSpan: Math.round(decodeMapUs * 100) / 100,
    bytesPerSpan: Math.round(bytesPerSpan),
  };
}

/** Spans/s through the baseline bridge and through Eddy into `target`, on distinct bodies. */
async function throughput(target: Target, bodies: Uint8Array[], warm: Uint8Array[]) {
  const expected = bodies.length * SPANS_PER_BATCH;
  const tag = Date.now().toString(36);
  const baseDb = `otlp_bench_base_${tag}`;
  const baseline = await startBaseline(target.client, baseDb);
  await sendAll(baseline.url, warm);
  let t0 = performance.now();
  let cpu0 = process.cpuUsage();
  await sendAll(baseline.url, bodies);
  const baseDone = await waitForCount(target, baseDb, expected + warm.length * SPANS_PER_BATCH);
  const baselineSpansPerSec = Math.round(expected / ((baseDone - t0) / 1000));
  const baselineCpuMicrosPerSpan = cpuPerSpan(cpu0, expected);
  await baseline.stop();
  await target.drop(baseDb);
  log(`${target.label}: baseline (decode + insertMany per request): ${baselineSpansPerSec} spans/s`);

  const db = `otlp_bench_${tag}`;
  const eddy = await startEddy(target.uri, db, await mkdtemp(join(spoolRoot, "s-")));
  await sendAll(eddy.url, warm);
  await waitForCount(target, db, warm.length * SPANS_PER_BATCH);
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  await sendAll(eddy.url, bodies);
  const ackedAt = performance.now();
  const eddyDone = await waitForCount(target, db, expected + warm.length * SPANS_PER_BATCH);
  const spansPerSec = Math.round(expected / ((eddyDone - t0) / 1000));
  const ackedSpansPerSec = Math.round(expected / ((ackedAt - t0) / 1000));
  const cpuMicrosPerSpan = cpuPerSpan(cpu0, expected);
  log(
    `${target.label}: eddy ${spansPerSec} spans/s stored (${ackedSpansPerSec} spans/s acknowledged), ` +
      `${cpuMicrosPerSpan} µs CPU/span (baseline ${baselineCpuMicrosPerSpan})`,
  );
  return {
    eddy,
    db,
    spansPerSec,
    ackedSpansPerSec,
    baselineSpansPerSec,
    cpuMicrosPerSpan,
    baselineCpuMicrosPerSpan,
  };
}

/** Raw driver ceilings of `target`: insertMany, and the upserts `$merge` sends, of pre-mapped documents. */
async function driverCeilings(target: Target, bodies: Uint8Array[]) {
  const batches = bodies.map((body) =>
    decodeRequest("traces", "protobuf", body, Date.now()).records.map((r) => r.doc),
  );
  const run = async (write: (docs: Doc[]) => Promise<unknown>) => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        while (next < batches.length) await write(batches[next++]!);
      }),
    );
    return Math.round((batches.length * SPANS_PER_BATCH) / ((performance.now() - t0) / 1000));
  };
  const db = `otlp_bench_driver_${Date.now().toString(36)}`;
  const c = target.client.db(db);
  const insertSpansPerSec = await run((docs) => c.collection("insert").insertMany(docs, { ordered: false }));
  const upsertSpansPerSec = await run((docs) =>
    c.collection<Doc>("upsert").bulkWrite(
      docs.map(({ _id, ...rest }): AnyBulkWriteOperation<Doc> => ({
        updateOne: { filter: { _id } as Filter<Doc>, update: { $set: rest }, upsert: true },
      })),
      { ordered: true },
    ),
  );
  await target.drop(db);
  log(
    `${target.label}: driver insertMany ${insertSpansPerSec} spans/s, driver upserts ${upsertSpansPerSec} spans/s`,
  );
  return { insertSpansPerSec, upsertSpansPerSec };
}

/** Acknowledgement latency of requests sent at `rate` spans/s for SECONDS. */
async function ackLatency(url: string, bodies: Uint8Array[], rate: number) {
  const interval = (SPANS_PER_BATCH / rate) * 1000;
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < SECONDS * 1000 && sent < bodies.length) {
    const due = start + sent * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(post(url, bodies[sent++]!).then((ms) => void latencies.push(ms)));
  }
  await Promise.all(pending);
  const achieved = Math.round((sent * SPANS_PER_BATCH) / ((performance.now() - start) / 1000));
  latencies.sort((a, b) => a - b);
  return {
    p99AckMs: percentile(latencies, 0.99),
    p50AckMs: percentile(latencies, 0.5),
    maxAckMs: percentile(latencies, 1),
    requests: latencies.length,
    latencyRateSpansPerSec: rate,
    achievedLatencyRateSpansPerSec: achieved,
  };
}

function mongoTarget(label: string, uri: string, client: MongoClient): Target {
  return {
    label,
    uri,
    client,
    stored: (db) => client.db(db).collection("traces").estimatedDocumentCount(),
    drop: async (db) => void (await client.db(db).dropDatabase()),
  };
}

function nullTarget(nullMongo: NullMongo, client: MongoClient): Target {
  return {
    label: "null MongoDB",
    uri: nullMongo.uri,
    client,
    stored: async (db) => nullMongo.written(db),
    drop: async () => {},
  };
}

const loadAverage = () => loadavg().map((n) => Math.round(n * 100) / 100);
let privateMongo: PrivateMongo | undefined;
let nullMongo: NullMongo | undefined;
const spoolRoot = await mkdtemp(join(tmpdir(), "eddy-otlp-bench-"));
try {
  const loadBefore = loadAverage();
  if (!process.env.MONGODB_URI) privateMongo = await startPrivateMongo({ persistent: false });
  const uri = process.env.MONGODB_URI ?? privateMongo!.uri;
  const client = new MongoClient(uri);
  await client.connect();
  nullMongo = await startNullMongo();
  const nullClient = new MongoClient(nullMongo.uri);
  await nullClient.connect();
  const latencyBatches = Math.ceil((40_000 * SECONDS) / SPANS_PER_BATCH);
  const total = BATCHES * 4 + latencyBatches + 10;
  log(`generating ${total} batches of ${SPANS_PER_BATCH} spans with the SDK…`);
  const bodies = makeBodies(total);
  const cost = decodingCost(bodies);
  log(
    `decoding: ${cost.decodeMicrosPerSpan} µs/span, decode + map: ${cost.decodeAndMapMicrosPerSpan} µs/span`,
  );
  const warm = bodies.slice(0, 10);
  const slice = (i: number) => bodies.slice(10 + i * BATCHES, 10 + (i + 1) * BATCHES);

  // (i) MongoDB: the stand-in (or MONGODB_URI), with its raw driver ceilings in the same run.
  const mongo = mongoTarget(process.env.MONGODB_URI ? "MONGODB_URI" : "stand-in", uri, client);
  const mongoDriver = await driverCeilings(mongo, slice(0));
  const onMongo = await throughput(mongo, slice(1), warm);
  await onMongo.eddy.stop();
  await mongo.drop(onMongo.db);

  // (ii) Eddy's own ceiling: the same path into a MongoDB endpoint that stores nothing.
  const nul = nullTarget(nullMongo, nullClient);
  const nullDriver = await driverCeilings(nul, slice(2));
  const onNull = await throughput(nul, slice(3), warm);
  // (iii) acknowledgement latency at half of Eddy's own stored rate, the processor writing meanwhile.
  const latency = await ackLatency(
    onNull.eddy.url,
    bodies.slice(10 + BATCHES * 4),
    Math.round(onNull.spansPerSec / 2),
  );
  await onNull.eddy.stop();
  await client.close();
  await nullClient.close();

  const result = {
    // Stored in MongoDB (the stand-in unless MONGODB_URI is set), and the same run's baselines there.
    spansPerSec: onMongo.spansPerSec,
    ackedSpansPerSec: onMongo.ackedSpansPerSec,
    baselineSpansPerSec: onMongo.baselineSpansPerSec,
    driverInsertSpansPerSec: mongoDriver.insertSpansPerSec,
    driverUpsertSpansPerSec: mongoDriver.upsertSpansPerSec,
    ratioToBaseline: ratio(onMongo.spansPerSec, onMongo.baselineSpansPerSec),
    ratioToDriverUpserts: ratio(onMongo.spansPerSec, mongoDriver.upsertSpansPerSec),
    ratioToDriverInsert: ratio(onMongo.spansPerSec, mongoDriver.insertSpansPerSec),
    // CPU of this process (receiver, pipeline, driver, senders; not the stand-in's) per span stored.
    cpuMicrosPerSpan: onMongo.cpuMicrosPerSpan,
    baselineCpuMicrosPerSpan: onMongo.baselineCpuMicrosPerSpan,
    // Acknowledgement latency at half of Eddy's own ceiling (below), the processor writing meanwhile.
    p99AckMs: latency.p99AckMs,
    p50AckMs: latency.p50AckMs,
    maxAckMs: latency.maxAckMs,
    latencyRateSpansPerSec: latency.latencyRateSpansPerSec,
    achievedLatencyRateSpansPerSec: latency.achievedLatencyRateSpansPerSec,
    latencyRequests: latency.requests,
    // Eddy's own ceiling: the same path into a MongoDB endpoint that acknowledges writes without storing.
    nullMongo: {
      spansPerSec: onNull.spansPerSec,
      ackedSpansPerSec: onNull.ackedSpansPerSec,
      baselineSpansPerSec: onNull.baselineSpansPerSec,
      driverInsertSpansPerSec: nullDriver.insertSpansPerSec,
      driverUpsertSpansPerSec: nullDriver.upsertSpansPerSec,
      ratioToBaseline: ratio(onNull.spansPerSec, onNull.baselineSpansPerSec),
      // CPU of this process per span (everything, the senders and the null endpoint included).
      cpuMicrosPerSpan: onNull.cpuMicrosPerSpan,
      baselineCpuMicrosPerSpan: onNull.baselineCpuMicrosPerSpan,
    },
    ...cost,
    spans: BATCHES * SPANS_PER_BATCH,
    senders: SENDERS,
    batchSpans: SPANS_PER_BATCH,
    target: { spansPerSec: 30_000, p99AckMs: 50 },
    met: {
      spansPerSec: onMongo.spansPerSec >= 30_000,
      nullSpansPerSec: onNull.spansPerSec >= 30_000,
      p99AckMs: latency.p99AckMs < 50,
    },
    mongo: mongo.label,
    loadAverage: { before: loadBefore, after: loadAverage() },
    cpus: cpus().length,
    node: process.version,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else console.log(result);
} finally {
  await nullMongo?.close();
  await privateMongo?.dispose();
  await rm(spoolRoot, { recursive: true, force: true });
}

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 1000) / 1000;
}
